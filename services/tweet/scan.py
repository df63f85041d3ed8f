"""ScanTweets: every stored row in id order, for rebuilding derived data (the search index's backfill).

A scan reads the primary key in order (`id > cursor ORDER BY id`), so each page is one range read however
large the table; rows are answered as stored, not hydrated, because the caller is a trusted rebuild job that
adds what it needs (engagement, authors) in its own batches.
"""

from __future__ import annotations

from dataclasses import fields

from chirp.tweet.v1 import tweet_pb2

from services.kit.sqlite import Database
from services.kit.timestamps import to_timestamp
from services.tweet.store import Counters, StoredTweet, TweetStore

__all__ = ["DEFAULT_LIMIT", "TweetScan"]

DEFAULT_LIMIT = 500

_COLUMNS = ", ".join(f.name for f in fields(StoredTweet))


class TweetScan:
    def __init__(self, db: Database, store: TweetStore) -> None:
        self._db = db
        self._store = store

    async def page(self, *, after_id: int, limit: int) -> list[tweet_pb2.Tweet]:
        """The stored tweets with ids above `after_id`, ascending, at most `limit` (0: DEFAULT_LIMIT)."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM tweets WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit or DEFAULT_LIMIT)
        )
        stored = [StoredTweet.from_row(r) for r in rows]
        counters = await self._store.counters(t.id for t in stored)
        return [_message(t, counters.get(t.id, Counters())) for t in stored]


def _message(tweet: StoredTweet, counters: Counters) -> tweet_pb2.Tweet:
    message = tweet_pb2.Tweet(
        id=tweet.id,
        text=tweet.text,
        created_at=to_timestamp(tweet.created_at),
        reply_to_tweet_id=tweet.reply_to_tweet_id,
        reply_to_user_id=tweet.reply_to_user_id,
        conversation_id=tweet.conversation_id,
        quote_tweet_id=tweet.quote_tweet_id,
        entities=tweet_pb2.TweetEntities.FromString(tweet.entities),
        media=[tweet_pb2.MediaAttachment(media_id=m) for m in tweet.media_ids],
        reply_count=counters.replies,
        quote_count=counters.quotes,
    )
    message.author.id = tweet.author_id
    if tweet.is_retweet:
        message.retweeted_tweet.id = tweet.retweet_of_id
    return message
