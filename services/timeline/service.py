"""TimelineService: the home timeline, read from the Redis cache and rebuilt from the stores on a miss."""

from __future__ import annotations

from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.timeline.v1 import timeline_service_pb2, timeline_service_pb2_grpc
from chirp.tweet.v1 import tweet_service_pb2, tweet_service_pb2_grpc

from services.kit import paging
from services.kit.identity import require_user
from services.kit.server import Context
from services.timeline.cache import CAPACITY, TimelineCache

__all__ = ["TimelineService"]

_FOLLOWING_PAGE = 5000


class TimelineService(timeline_service_pb2_grpc.TimelineServiceServicer):
    def __init__(
        self,
        *,
        cache: TimelineCache,
        graph: graph_service_pb2_grpc.GraphServiceStub,
        tweets: tweet_service_pb2_grpc.TweetServiceStub,
    ) -> None:
        self._cache = cache
        self._graph = graph
        self._tweets = tweets

    async def GetHomeTimeline(
        self, request: timeline_service_pb2.GetHomeTimelineRequest, context: Context
    ) -> timeline_service_pb2.GetHomeTimelineResponse:
        me = require_user()
        size = paging.page_size(request.page_size)
        cursor = paging.parse_token(request.page_token)
        if not await self._cache.exists(me):
            await self._rebuild(me)
        ids = await self._cache.page(me, before=cursor, limit=size)
        tweets = []
        if ids:
            # Hydration answers as the reader (the identity travels with the call) and omits deleted tweets.
            answer = await self._tweets.BatchGetTweets(tweet_service_pb2.BatchGetTweetsRequest(tweet_ids=ids))
            tweets = list(answer.tweets)
        return timeline_service_pb2.GetHomeTimelineResponse(
            tweets=tweets, next_page_token=paging.next_token(ids, size=size)
        )

    async def Ping(
        self, request: timeline_service_pb2.PingRequest, context: Context
    ) -> timeline_service_pb2.PingResponse:
        require_user()
        return timeline_service_pb2.PingResponse()

    async def _rebuild(self, user_id: int) -> None:
        """Rebuild a missing timeline from the newest tweets of the user and everyone they follow."""
        authors, token = [user_id], ""
        while True:
            page = await self._graph.ListFollowingIds(
                graph_service_pb2.ListFollowingIdsRequest(user_id=user_id, page_size=_FOLLOWING_PAGE, page_token=token)
            )
            authors.extend(page.user_ids)
            token = page.next_page_token
            if not token:
                break
        recent = await self._tweets.ListAuthorTweetIds(
            tweet_service_pb2.ListAuthorTweetIdsRequest(author_ids=authors, limit=CAPACITY)
        )
        await self._cache.fill(user_id, recent.tweet_ids)
