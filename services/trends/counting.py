"""The `chirp.tweet.*` consumers: each tweet's hashtags into the window, and back out when it is deleted.

Idempotent under redelivery by construction (see window: a marker per tweet, set in the same script as the
counts). Retweet rows carry no text of their own and are not counted; nor are tweets of protected accounts,
whose hashtags only their followers may see.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from chirp.tweet.v1.tweet_events_pb2 import TweetCreated, TweetDeleted

from services.kit.events import Delivery
from services.kit.snowflake import timestamp_of
from services.trends.window import TrendWindows, Use, normalized_tags

__all__ = ["CREATED", "CREATED_DURABLE", "DELETED", "DELETED_DURABLE", "HashtagCounter"]

log = logging.getLogger(__name__)

CREATED = "chirp.tweet.created"
DELETED = "chirp.tweet.deleted"
CREATED_DURABLE = "trends-tweet-created"
DELETED_DURABLE = "trends-tweet-deleted"


class HashtagCounter:
    def __init__(self, windows: TrendWindows, *, clock: Callable[[], float] = time.time) -> None:
        self._windows = windows
        self._clock = clock

    async def on_created(self, event: TweetCreated, delivery: Delivery) -> None:
        if event.retweeted_tweet_id or event.author_protected:
            return
        tags = normalized_tags(h.tag for h in event.entities.hashtags)
        if tags and await self._windows.add(_use(event.tweet_id, event.author_id, tags), now=self._clock()):
            log.debug("tweet %s counted for %s", event.tweet_id, tags)

    async def on_deleted(self, event: TweetDeleted, delivery: Delivery) -> None:
        if event.retweeted_tweet_id:
            return
        tags = normalized_tags(event.hashtags)
        # Also for a tweet never counted (protected): the marker then keeps a late creation event out.
        if tags and await self._windows.remove(_use(event.tweet_id, event.author_id, tags), now=self._clock()):
            log.debug("tweet %s uncounted for %s", event.tweet_id, tags)


def _use(tweet_id: int, author_id: int, tags: list[str]) -> Use:
    # The id's own time, the same for both events, whenever they arrive.
    return Use(tweet_id=tweet_id, author_id=author_id, at=timestamp_of(tweet_id).timestamp(), tags=tags)
