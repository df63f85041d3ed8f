"""Rebuilding a home timeline from the stores, for a reader without one (new, inactive, or evicted).

The result is what the push path would have produced: the newest entries of the reader and of everyone they
follow except famous accounts (whose tweets are pulled at read time, never pushed), grouped the same way
(retweets once), capped the same way. Entries hidden from the reader are left out where push would have
delivered them; the read path hides those anyway, so the reader sees the same timeline either way.

Races with the fan-out worker are harmless by construction: the timeline exists from the start of the
rebuild, so tweets pushed meanwhile land in it and the rebuilt entries are merged, not replaced; and the
famous followees are read again after the timeline is marked built, so an account that became famous during
the rebuild (whose promotion skipped this then-unbuilt timeline) is still pulled.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import Histogram

from services.timeline.cache import TimelineCache
from services.timeline.famous import FamousRegistry
from services.timeline.sources import Sources

__all__ = ["REBUILD_DEPTH", "Rebuilder"]

log = logging.getLogger(__name__)

# More ids than the capacity: retweets of one tweet collapse into one entry, so the rebuild reads deeper
# than the timeline holds to end up as full as the push path would.
REBUILD_DEPTH = 1000

_REBUILD_SECONDS = Histogram(
    "chirp_timeline_rebuild_seconds",
    "Time to rebuild a home timeline from the stores (a reader without a cached one).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class Rebuilder:
    def __init__(self, *, cache: TimelineCache, famous: FamousRegistry, sources: Sources) -> None:
        self._cache = cache
        self._famous = famous
        self._sources = sources

    async def rebuild(self, user_id: int) -> None:
        """Build the user's timeline (as the current identity, which must be the user: hydration hides what
        they may not see)."""
        started = time.perf_counter()
        await self._cache.begin_build(user_id)
        following = await self._sources.following(user_id)
        famous = await self._famous.among(following)
        authors = [user_id, *(f for f in following if f not in famous)]
        entries = await self._sources.recent_entries(authors, limit=REBUILD_DEPTH)
        await self._cache.finish_build(user_id, entries, famous)
        late = await self._famous.among([f for f in following if f not in famous])
        if late:
            for famous_id in late:
                await self._cache.add_famous([user_id], famous_id)
        elapsed = time.perf_counter() - started
        _REBUILD_SECONDS.observe(elapsed)
        log.debug("rebuilt timeline %s: %d entries, %d famous, %.3fs", user_id, len(entries), len(famous), elapsed)
