"""Push fan-out: a new tweet goes into the cached home timeline of its author and of every follower."""

from __future__ import annotations

import logging

from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.tweet.v1 import tweet_events_pb2

from services.kit.events import Delivery
from services.timeline.cache import TimelineCache

__all__ = ["FOLLOWER_PAGE", "Fanout"]

log = logging.getLogger(__name__)

# One graph page is one pipelined Redis round trip: big enough to amortize, small enough to stay responsive.
FOLLOWER_PAGE = 5000


class Fanout:
    def __init__(self, *, cache: TimelineCache, graph: graph_service_pb2_grpc.GraphServiceStub) -> None:
        self._cache = cache
        self._graph = graph

    async def on_tweet_created(self, event: tweet_events_pb2.TweetCreated, delivery: Delivery) -> None:
        # Adding an id to a sorted set twice leaves one entry, so a redelivered event changes nothing.
        await self._cache.push([event.author_id], event.tweet_id)
        delivered, token = 1, ""
        while True:
            page = await self._graph.ListFollowerIds(
                graph_service_pb2.ListFollowerIdsRequest(
                    user_id=event.author_id, page_size=FOLLOWER_PAGE, page_token=token
                )
            )
            await self._cache.push(page.user_ids, event.tweet_id)
            delivered += len(page.user_ids)
            token = page.next_page_token
            if not token:
                break
        log.debug("tweet %s delivered to %d timelines", event.tweet_id, delivered)
