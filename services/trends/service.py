"""TrendsService: answers the trends the ranker last stored; the same for every caller."""

from __future__ import annotations

import time
from collections.abc import Callable

from chirp.trends.v1 import trends_service_pb2 as pb
from chirp.trends.v1 import trends_service_pb2_grpc

from services.kit.server import Context
from services.kit.timestamps import to_timestamp
from services.trends.window import TrendWindows

__all__ = ["DEFAULT_LIMIT", "TrendsService"]

DEFAULT_LIMIT = 10


class TrendsService(trends_service_pb2_grpc.TrendsServiceServicer):
    def __init__(self, windows: TrendWindows, *, clock: Callable[[], float] = time.time) -> None:
        self._windows = windows
        self._clock = clock

    async def ListTrends(self, request: pb.ListTrendsRequest, context: Context) -> pb.ListTrendsResponse:
        limit = request.limit or DEFAULT_LIMIT  # the contract bounds it to 0..50
        stored = await self._windows.top()
        if stored is None:  # nothing computed yet (just started, or nothing to count): no trends
            now = self._clock()
            params = self._windows.params
            start = (params.bucket_of(now) - params.window_buckets + 1) * params.bucket_seconds
            return pb.ListTrendsResponse(window_start=to_timestamp(start), window_end=to_timestamp(now))
        del stored.trends[limit:]
        return stored
