"""Promotion and demotion: an author starts or stops being pulled at read time instead of pushed.

Timelines must agree with the fan-out at every moment: each followee's tweets are either pushed into a
reader's cached timeline or listed among the reader's famous followees (pulled). So:

- promotion marks the author famous first (pushes stop), caches their newest ids for readers to pull, then
  adds them to each follower's famous followees; until that pass reaches a follower, the follower misses the
  author's newest tweets for a moment, never for good;
- demotion unmarks them first (pushes resume), then merges their recent tweets into each follower's timeline
  *before* removing them from that follower's famous followees, so nothing is missing in between.

A transition is marked pending while its pass runs; a crash midway leaves the mark, and the author's next
event finishes the pass (both passes are idempotent).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from services.kit.identity import acting_as
from services.kit.snowflake import min_id_at
from services.timeline.cache import TimelineCache
from services.timeline.famous import FamousRegistry
from services.timeline.sources import Sources

__all__ = ["Transitions"]

log = logging.getLogger(__name__)

# Tweets stamped by a clock running this far ahead of ours still count as made before the promotion (and
# so as pushed): the safe side, since a delete then also looks in the followers' timelines.
_CLOCK_MARGIN = timedelta(seconds=2)


class Transitions:
    def __init__(self, *, cache: TimelineCache, registry: FamousRegistry, sources: Sources) -> None:
        self._cache = cache
        self._registry = registry
        self._sources = sources

    async def settle(self, user_id: int, *, famous: bool) -> bool:
        """Bring the fan-out in line with the verdict `famous`; True if the user's tweets are pulled."""
        since, pending = await self._registry.state(user_id)
        marked = since is not None
        if famous and (not marked or pending == "up"):
            await self.promote(user_id)
        elif not famous and (marked or pending == "down"):
            await self.demote(user_id)
        return famous

    async def promote(self, user_id: int) -> None:
        log.info("user %s is famous: pulling their tweets instead of pushing", user_id)
        await self._registry.begin(user_id, "up")
        await self._registry.mark(user_id, since_id=min_id_at(datetime.now(UTC) + _CLOCK_MARGIN))
        await self._registry.fill(user_id, await self._sources.recent_ids([user_id], limit=self._cache.capacity))
        async for page in self._sources.followers(user_id):
            await self._cache.add_famous(page, user_id)
        await self._registry.end(user_id, "up")

    async def demote(self, user_id: int) -> None:
        log.info("user %s is no longer famous: pushing their tweets again", user_id)
        await self._registry.begin(user_id, "down")
        await self._registry.unmark(user_id)
        with acting_as(user_id):  # their own tweets, as they see them
            entries = await self._sources.recent_entries([user_id], limit=self._cache.capacity)
        async for page in self._sources.followers(user_id):
            await self._cache.demote(page, user_id, entries)
        await self._registry.forget(user_id)
        await self._registry.end(user_id, "down")
