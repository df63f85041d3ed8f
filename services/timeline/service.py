"""TimelineService: converts between protobuf and the home-timeline reader (see reading)."""

from __future__ import annotations

from chirp.timeline.v1 import timeline_service_pb2, timeline_service_pb2_grpc

from services.kit import paging
from services.kit.identity import require_user
from services.kit.server import Context
from services.timeline.reading import HomeReader

__all__ = ["TimelineService"]


class TimelineService(timeline_service_pb2_grpc.TimelineServiceServicer):
    def __init__(self, *, reader: HomeReader) -> None:
        self._reader = reader

    async def GetHomeTimeline(
        self, request: timeline_service_pb2.GetHomeTimelineRequest, context: Context
    ) -> timeline_service_pb2.GetHomeTimelineResponse:
        me = require_user()
        page = await self._reader.page(
            me, before=paging.parse_token(request.page_token), size=paging.page_size(request.page_size)
        )
        return timeline_service_pb2.GetHomeTimelineResponse(tweets=page.tweets, next_page_token=page.next_page_token)

    async def Ping(
        self, request: timeline_service_pb2.PingRequest, context: Context
    ) -> timeline_service_pb2.PingResponse:
        require_user()
        return timeline_service_pb2.PingResponse()
