"""Recomputing the trends: every few seconds, score the window against the baselines and store the answer.

At its first run in each bucket it also takes the bucket's baseline sample (each tag's current activity, see
scoring). Several trends processes may run this at once: they compute the same answer, and the sample is
stored by whichever gets there first (compare-and-set on the sample cursor).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import redis.exceptions
from chirp.trends.v1 import trends_pb2, trends_service_pb2

from services.kit.timestamps import to_timestamp
from services.trends import scoring
from services.trends.window import TrendWindows

__all__ = ["MAX_TRENDS", "Ranker"]

log = logging.getLogger(__name__)

MAX_TRENDS = 50  # the most ListTrends answers (its `limit` is at most 50)


class Ranker:
    def __init__(self, windows: TrendWindows, *, clock: Callable[[], float] = time.time) -> None:
        self._windows = windows
        self._params = windows.params
        self._clock = clock

    async def refresh(self) -> trends_service_pb2.ListTrendsResponse:
        """Score the window as of now, store the answer (and the bucket's baseline sample), and return it."""
        now = self._clock()
        bucket = self._params.bucket_of(now)
        windows = await self._windows.window(bucket)
        cursor, baselines = await self._windows.baselines([w.tag for w in windows])
        trends = scoring.rank(windows, baselines, bucket=bucket, params=self._params, limit=MAX_TRENDS)
        answer = trends_service_pb2.ListTrendsResponse(
            trends=[
                trends_pb2.Trend(hashtag=t.tag, tweet_count=t.tweet_count, author_count=t.author_count, score=t.score)
                for t in trends
            ],
            window_start=to_timestamp((bucket - self._params.window_buckets + 1) * self._params.bucket_seconds),
            window_end=to_timestamp(now),
        )
        await self._windows.save_top(answer)
        if not cursor or int(cursor) < bucket:
            samples = {
                w.tag: scoring.sampled(baselines.get(w.tag), scoring.activity(w, self._params), bucket, self._params)
                for w in windows
            }
            if await self._windows.save_sample(read_cursor=cursor, bucket=bucket, baselines=samples):
                log.debug("baseline sample of bucket %d: %d tags", bucket, len(samples))
        return answer

    async def run(self, *, every: float) -> None:
        """`refresh` every `every` seconds until cancelled; a Redis outage is waited out, not fatal."""
        while True:
            started = time.monotonic()
            try:
                await self.refresh()
            except (redis.exceptions.RedisError, OSError) as exc:
                log.warning("recomputing trends failed (%s); retrying", exc)
            await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))
