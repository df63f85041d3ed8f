"""Keeping engagements true when tweets disappear: the `chirp.tweet.deleted` consumer.

Idempotent by nature, so redeliveries change nothing: forgetting a tweet is a set of deletes plus a
tombstone, and a retweet record is removed only if it still points at the deleted row.
"""

from __future__ import annotations

import logging

from chirp.tweet.v1.tweet_events_pb2 import TweetDeleted

from services.engagement.ledger import Ledger
from services.kit.events import Delivery

__all__ = ["DURABLE", "SUBJECT", "TweetDeletions"]

log = logging.getLogger(__name__)

SUBJECT = "chirp.tweet.deleted"
DURABLE = "engagement-tweet-deleted"


class TweetDeletions:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def on_tweet_deleted(self, event: TweetDeleted, delivery: Delivery) -> None:
        if event.retweeted_tweet_id:
            # A retweet row went away (undone, or cascaded from its original): the retweet it carried is over.
            # Keyed by the row id, so a stale event cannot remove a newer retweet of the same tweet.
            if await self._ledger.unretweet(event.author_id, event.retweeted_tweet_id, retweet_id=event.tweet_id):
                log.info("retweet row %s deleted: retweet of %s removed", event.tweet_id, event.retweeted_tweet_id)
            return
        if await self._ledger.forget_tweet(event.tweet_id):
            log.info("tweet %s deleted: its engagements removed", event.tweet_id)
