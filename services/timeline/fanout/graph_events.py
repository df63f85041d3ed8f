"""Follows, unfollows and blocks, applied to cached home timelines.

- Followed: the followee's recent tweets merge into the follower's timeline (hydrated as the follower, so
  nothing they may not see); a famous followee joins their famous followees instead (pulled at read).
- Unfollowed, Blocked: the other user's tweets and retweets leave the timeline (both ways for a block), and
  they leave the famous followees.

Only cached timelines change; one that is not cached is rebuilt from the graph as it is when its owner reads.
The read path also leaves out authors the reader does not follow, so an unfollow shows at once even before
this event is applied, and an event applied late (a push that raced the unfollow) cannot bring tweets back.
Every handler is idempotent.
"""

from __future__ import annotations

from chirp.graph.v1 import graph_events_pb2

from services.kit.events import Delivery
from services.kit.identity import acting_as
from services.timeline.cache import TimelineCache
from services.timeline.famous import FamousRegistry
from services.timeline.sources import Sources

__all__ = ["GraphChanges"]

_ID_PAGE = 1000  # what ListAuthorTweetIds answers at most
_MAX_PAGES = 20  # a timeline holds 800 entries: more pages than it can take from one author


class GraphChanges:
    def __init__(self, *, cache: TimelineCache, registry: FamousRegistry, sources: Sources) -> None:
        self._cache = cache
        self._registry = registry
        self._sources = sources

    async def on_followed(self, event: graph_events_pb2.Followed, delivery: Delivery) -> None:
        reader, author = event.actor_user_id, event.target_user_id
        if await self._registry.since(author) is not None:
            await self._cache.add_famous([reader], author)
            return
        if not await self._cache.exists(reader):
            return
        with acting_as(reader):
            entries = await self._sources.recent_entries([author], limit=self._cache.capacity)
        await self._cache.merge(reader, entries)

    async def on_unfollowed(self, event: graph_events_pb2.Unfollowed, delivery: Delivery) -> None:
        await self._forget(event.actor_user_id, event.target_user_id)

    async def on_blocked(self, event: graph_events_pb2.Blocked, delivery: Delivery) -> None:
        await self._forget(event.actor_user_id, event.target_user_id)
        await self._forget(event.target_user_id, event.actor_user_id)

    async def _forget(self, reader: int, author: int) -> None:
        """Take `author`'s tweets and retweets out of `reader`'s timeline."""
        await self._cache.remove_famous(reader, author)
        floor = await self._cache.oldest(reader)
        if floor is None:
            return
        before: int | None = None
        for _ in range(_MAX_PAGES):
            ids = await self._sources.recent_ids([author], limit=_ID_PAGE, before=before)
            await self._cache.remove_ids(reader, ids)
            if len(ids) < _ID_PAGE or ids[-1] < floor:
                return  # older ones cannot be in the timeline
            before = ids[-1]
