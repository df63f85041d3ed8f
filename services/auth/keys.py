"""The auth service's signing keys: ES256 key pairs, rotated without logging anyone out.

A key's life: it is *published* (in the JWKS) `publish_ahead` seconds before it becomes *active* (the newest
active key signs every new token), because verifiers cache the JWKS (Envoy for 60 s) and would refuse a token
signed by a key they have not fetched yet. When the next key becomes active the old one is *retired*: it signs
nothing more but stays published for one access-token lifetime, until the last token it signed has expired.
Then it is pruned.

Everything here is a pure function of the key list and the time; `keyring` applies it to the store.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

__all__ = ["ALGORITHM", "SigningKey", "generate_key", "next_key_activation", "prunable", "published", "signing_key"]

ALGORITHM = "ES256"


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    created_at: float
    retired_at: float | None = None
    # When it starts signing; None means at creation (keys made before publication ahead existed).
    active_from: float | None = None

    @property
    def activation(self) -> float:
        return self.created_at if self.active_from is None else self.active_from

    @property
    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @classmethod
    def from_pem(
        cls, *, kid: str, pem: bytes, created_at: float, retired_at: float | None, active_from: float | None = None
    ) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"signing key {kid} is not an EC key")
        return cls(kid=kid, private_key=key, created_at=created_at, retired_at=retired_at, active_from=active_from)

    def jwk(self) -> dict[str, Any]:
        """The public half as an RFC 7517 JWK."""
        jwk: dict[str, Any] = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return jwk | {"kid": self.kid, "alg": ALGORITHM, "use": "sig"}


def generate_key(now: float | None = None, *, active_from: float | None = None) -> SigningKey:
    created = time.time() if now is None else now
    return SigningKey(
        kid=secrets.token_urlsafe(12),
        private_key=ec.generate_private_key(ec.SECP256R1()),
        created_at=created,
        active_from=created if active_from is None else active_from,
    )


def _by_activation(keys: Sequence[SigningKey]) -> list[SigningKey]:
    return sorted(keys, key=lambda k: (k.activation, k.created_at))


def signing_key(keys: Sequence[SigningKey], *, now: float) -> SigningKey:
    """The key that signs at `now`: the most recently activated one. Raises LookupError if none is active."""
    active = [k for k in _by_activation(keys) if k.activation <= now]
    if not active:
        raise LookupError("no signing key is active yet")
    return active[-1]


def published(keys: Sequence[SigningKey], *, token_ttl: float, now: float) -> list[SigningKey]:
    """The keys a verifier needs, newest first: the next (not yet active), the active one, and those retired
    less than one token lifetime ago."""
    live = [k for k in keys if k.retired_at is None or now - k.retired_at < token_ttl]
    return _by_activation(live)[::-1]


def next_key_activation(
    keys: Sequence[SigningKey], *, now: float, rotation: float, publish_ahead: float
) -> float | None:
    """When a key created now should become active, or None if no key is due.

    None while a next key is already published and waiting. The first key is active at once (no verifier can
    have cached an empty set for long, and there is nothing else to sign with); later ones `publish_ahead`
    after now, and no earlier than `rotation` after the current key's activation.
    """
    if not keys:
        return now
    newest = _by_activation(keys)[-1]
    if newest.activation > now:
        return None  # the next key is published and waiting for its turn
    due = newest.activation + rotation
    if now < due - publish_ahead:
        return None
    return max(due, now + publish_ahead)


def prunable(keys: Sequence[SigningKey], *, token_ttl: float, now: float) -> list[SigningKey]:
    """Retired keys whose every token has expired: nothing needs them any more."""
    return [k for k in keys if k.retired_at is not None and now - k.retired_at >= token_ttl]
