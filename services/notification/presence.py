"""Who is away, from the presence service: what decides between telling a user live and mailing them later.

A user is *present* while a client of theirs sends heartbeats (ONLINE or IDLE), and for `after` seconds past
their last one; anyone else is *away*. The notification service relies only on the contract's
`PresenceService.BatchGetPresence` (internal, no caller needed, ids never heard from are OFFLINE without
`last_seen_at`). When the presence service cannot answer — not deployed yet (UNIMPLEMENTED), down, slow —
everyone asked about counts as away: a digest to someone who was in fact around is a smaller harm than
none to someone who was not, and the digest scheduler still skips users with a stream open here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import grpc
from chirp.presence.v1 import presence_pb2, presence_service_pb2, presence_service_pb2_grpc

__all__ = ["PresenceBook"]

log = logging.getLogger(__name__)

_BATCH = 1000  # BatchGetPresence's limit
_PRESENT = frozenset({presence_pb2.PRESENCE_STATE_ONLINE, presence_pb2.PRESENCE_STATE_IDLE})


class PresenceBook:
    def __init__(self, stub: presence_service_pb2_grpc.PresenceServiceStub, *, timeout: float = 2.0) -> None:
        self._stub = stub
        self._timeout = timeout
        self._warned: grpc.StatusCode | None = None

    async def away(self, user_ids: Sequence[int], *, now: float, after: float) -> set[int]:
        """The users among `user_ids` who have been away for at least `after` seconds at `now`."""
        away: set[int] = set()
        for start in range(0, len(user_ids), _BATCH):
            chunk = list(user_ids[start : start + _BATCH])
            try:
                answer = await self._stub.BatchGetPresence(
                    presence_service_pb2.BatchGetPresenceRequest(user_ids=chunk), timeout=self._timeout
                )
            except grpc.aio.AioRpcError as exc:
                self._warn(exc)
                away.update(chunk)
                continue
            self._warned = None
            for presence in answer.presences:
                if presence.state in _PRESENT:
                    continue
                if presence.HasField("last_seen_at") and now - presence.last_seen_at.ToNanoseconds() / 1e9 < after:
                    continue
                away.add(presence.user_id)
        return away

    def _warn(self, exc: grpc.aio.AioRpcError) -> None:
        # Once per kind of failure, not once per scan: a presence service that is not deployed yet would
        # otherwise fill the log.
        if self._warned != exc.code():
            self._warned = exc.code()
            log.warning("presence unavailable (%s: %s): counting everyone as away", exc.code().name, exc.details())
