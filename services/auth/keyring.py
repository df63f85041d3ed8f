"""The running service's signing keys: loaded from the store, rotated when due, refreshed in the background.

Signing and the JWKS read the in-memory list, choosing by the clock at each call, so a published next key
starts signing at its activation time even between refreshes. A refresh reloads the list (another instance
sharing the database may have rotated), adds the next key when one is due and prunes keys nobody needs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from services.auth import keys as signing
from services.auth.store import AuthStore

__all__ = ["KeyRing"]

log = logging.getLogger(__name__)


class KeyRing:
    def __init__(
        self,
        store: AuthStore,
        *,
        rotation: float,
        publish_ahead: float,
        token_ttl: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._rotation = rotation
        self._publish_ahead = publish_ahead
        self._token_ttl = token_ttl
        self._clock = clock
        self._keys: list[signing.SigningKey] = []

    async def refresh(self) -> None:
        """Reload the keys; add the next one if due; prune the expired ones."""
        now = self._clock()
        keys = await self._store.signing_keys()
        activation = signing.next_key_activation(
            keys, now=now, rotation=self._rotation, publish_ahead=self._publish_ahead
        )
        if activation is not None:
            key = signing.generate_key(now, active_from=activation)
            newest = max(keys, key=lambda k: (k.activation, k.created_at)).kid if keys else None
            if await self._store.add_signing_key(key, newest_kid=newest):
                log.info("signing key %s published, signing from %s", key.kid, time.ctime(activation))
            keys = await self._store.signing_keys()
        stale = signing.prunable(keys, token_ttl=self._token_ttl, now=now)
        if stale:
            await self._store.delete_signing_keys(k.kid for k in stale)
            log.info("signing keys pruned: %s", ", ".join(k.kid for k in stale))
            gone = {k.kid for k in stale}
            keys = [k for k in keys if k.kid not in gone]
        self._keys = keys

    def signing_key(self) -> signing.SigningKey:
        """The key to sign with now. Raises LookupError before the first `refresh`."""
        return signing.signing_key(self._keys, now=self._clock())

    def published(self) -> list[signing.SigningKey]:
        """The keys verifiers need now, newest first."""
        return signing.published(self._keys, token_ttl=self._token_ttl, now=self._clock())

    async def keep_fresh(self, *, every: float) -> None:
        """`refresh` every `every` seconds until cancelled (run it with `rt.spawn`).

        A failed refresh is logged and retried at the next tick, not fatal: the keys already loaded keep
        signing and verifying meanwhile.
        """
        while True:
            await asyncio.sleep(every)
            try:
                await self.refresh()
            except Exception:
                log.exception("refreshing the signing keys failed; retrying in %gs", every)
