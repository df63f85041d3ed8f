"""Telling the classification service that a reader is here (ClassificationService.RecordVisit).

A home-timeline read is the reader being seen: an INACTIVE reader becomes PASSIVE, so pushes reach them again
and the fan-out does not drop the timeline their read builds. The read path reports a visit before it
rebuilds a missing timeline, and about once an hour while the reader keeps reading (when the timeline's idle
TTL is renewed). A visit that cannot be reported (the service not deployed, or down) never fails the read.
"""

from __future__ import annotations

import asyncio
import logging

import grpc
from chirp.classification.v1 import classification_service_pb2, classification_service_pb2_grpc

__all__ = ["Visits"]

log = logging.getLogger(__name__)


class Visits:
    def __init__(self, classification: classification_service_pb2_grpc.ClassificationServiceStub) -> None:
        self._classification = classification
        self._background: set[asyncio.Task[None]] = set()

    async def record(self, user_id: int) -> None:
        try:
            await self._classification.RecordVisit(classification_service_pb2.RecordVisitRequest(user_id=user_id))
        except grpc.aio.AioRpcError as exc:
            log.debug("visit of %s not recorded: %s", user_id, exc.code().name)

    def record_later(self, user_id: int) -> None:
        """Record the visit without holding up the read."""
        task = asyncio.create_task(self.record(user_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
