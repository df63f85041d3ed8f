"""Hybrid fan-out of new and deleted tweets.

A new tweet goes into its author's own cached timeline, then:

- an ordinary author's: into each follower's cached timeline, one pipelined Redis round trip per page of
  followers (the next page is fetched from the graph while the current one is written). Followers without a
  cached timeline are inactive and skipped inside the same script, at the cost of one EXISTS each; their
  timeline is rebuilt from the stores when they return;
- a famous author's: into the author's list that readers pull from at read time, and nowhere else.

Everything is idempotent: delivering an entry twice leaves one, removing one twice removes it once, so a
redelivered event changes nothing. The lag from the tweet's `created_at` to its last write is the
`chirp_fanout_lag_seconds` histogram.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from chirp.tweet.v1 import tweet_events_pb2

from services.kit.events import Delivery
from services.timeline.cache import Entry, TimelineCache
from services.timeline.famous import FamousRegistry
from services.timeline.fanout.classify import Classifier
from services.timeline.fanout.famous import Transitions
from services.timeline.fanout.metrics import IN_FLIGHT, LAG, TIMELINES
from services.timeline.sources import Sources

__all__ = ["Fanout"]

log = logging.getLogger(__name__)


class Fanout:
    def __init__(
        self,
        *,
        cache: TimelineCache,
        registry: FamousRegistry,
        sources: Sources,
        classifier: Classifier,
        transitions: Transitions,
    ) -> None:
        self._cache = cache
        self._registry = registry
        self._sources = sources
        self._classifier = classifier
        self._transitions = transitions

    async def on_tweet_created(self, event: tweet_events_pb2.TweetCreated, delivery: Delivery) -> None:
        with IN_FLIGHT.track_inprogress():
            await self._deliver(event)

    async def on_tweet_deleted(self, event: tweet_events_pb2.TweetDeleted, delivery: Delivery) -> None:
        author, tweet_id = event.author_id, event.tweet_id
        await self._registry.remove_tweet(author, tweet_id)
        since = await self._registry.since(author)
        if since is not None and tweet_id >= since:
            await self._cache.remove([author], tweet_id)
            return  # posted while famous: never pushed to the followers
        await self._each_follower_page(author, lambda page: self._cache.remove(page, tweet_id), also=author)

    async def _deliver(self, event: tweet_events_pb2.TweetCreated) -> None:
        author = event.author_id
        entry = Entry(event.tweet_id, event.retweeted_tweet_id)
        famous = await self._transitions.settle(author, famous=await self._classifier.is_famous(author))
        if famous:
            await self._cache.push([author], entry)
            if not await self._registry.add_tweet(author, event.tweet_id):
                # Not cached (evicted): from the store, which has this tweet already.
                await self._registry.fill(author, await self._sources.recent_ids([author], limit=self._cache.capacity))
            _observe("pull", event)
            return
        offered = written = 0

        async def push(page: Sequence[int]) -> None:
            nonlocal offered, written
            present = await self._cache.push(page, entry)
            offered, written = offered + len(page), written + present

        await self._each_follower_page(author, push, also=author)
        TIMELINES.labels("written").inc(written)
        TIMELINES.labels("inactive").inc(offered - written)
        lag = _observe("push", event)
        log.debug("tweet %s: %d of %d timelines, %.3fs after posting", event.tweet_id, written, offered, lag)

    async def _each_follower_page(
        self, author_id: int, write: Callable[[Sequence[int]], Awaitable[None]], *, also: int | None = None
    ) -> None:
        """`write` each page of the author's followers (the first page with `also` added, so that the author's
        own timeline costs no round trip of its own), overlapping a page's write with the next page's fetch.

        At most one write and one fetch are in flight: the bound that keeps a huge fan-out from flooding Redis.
        """
        writing: asyncio.Task[None] | None = None
        extra = [also] if also is not None else []
        try:
            async for page in self._sources.followers(author_id):
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(write(extra + page))
                extra = []
            if writing is not None:
                await writing
            elif extra:
                await write(extra)  # no followers
        finally:
            if writing is not None and not writing.done():
                writing.cancel()


def _observe(path: str, event: tweet_events_pb2.TweetCreated) -> float:
    """Record the seconds from the tweet's creation to now (if the event says when that was); returns them."""
    if not event.HasField("created_at"):
        return 0.0
    lag = max(0.0, time.time() - event.created_at.ToNanoseconds() / 1e9)
    LAG.labels(path).observe(lag)
    return lag
