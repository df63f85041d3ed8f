"""The events the tweet service publishes (`chirp.tweet.created`, `chirp.tweet.deleted`), built from stored rows.

Each is written to the outbox in the transaction that stores or deletes the row, with a message id made from
the tweet id, so a redelivered or republished event is recognised as the same one.
"""

from __future__ import annotations

import time

from chirp.tweet.v1 import tweet_events_pb2, tweet_pb2

from services.kit.outbox import Outbox
from services.kit.sqlite import Transaction
from services.kit.timestamps import to_timestamp
from services.tweet.store import StoredTweet

__all__ = ["CREATED", "DELETED", "publish_created", "publish_deleted"]

CREATED = "chirp.tweet.created"
DELETED = "chirp.tweet.deleted"


async def publish_created(
    outbox: Outbox,
    tx: Transaction,
    tweet: StoredTweet,
    *,
    author_protected: bool,
    quoted_author_id: int = 0,
    retweeted_author_id: int = 0,
) -> None:
    event = tweet_events_pb2.TweetCreated(
        tweet_id=tweet.id,
        author_id=tweet.author_id,
        author_protected=author_protected,
        text=tweet.text,
        reply_to_tweet_id=tweet.reply_to_tweet_id,
        reply_to_user_id=tweet.reply_to_user_id,
        conversation_id=tweet.conversation_id,
        quote_tweet_id=tweet.quote_tweet_id,
        quote_tweet_author_id=quoted_author_id,
        retweeted_tweet_id=tweet.retweet_of_id,
        retweeted_tweet_author_id=retweeted_author_id,
        entities=tweet_pb2.TweetEntities.FromString(tweet.entities),
        media_ids=tweet.media_ids,
        created_at=to_timestamp(tweet.created_at),
        occurred_at=to_timestamp(tweet.created_at),
    )
    await outbox.add(tx, CREATED, event, msg_id=f"tweet.created:{tweet.id}")


async def publish_deleted(outbox: Outbox, tx: Transaction, tweet: StoredTweet) -> None:
    entities = tweet_pb2.TweetEntities.FromString(tweet.entities)
    event = tweet_events_pb2.TweetDeleted(
        tweet_id=tweet.id,
        author_id=tweet.author_id,
        reply_to_tweet_id=tweet.reply_to_tweet_id,
        quote_tweet_id=tweet.quote_tweet_id,
        retweeted_tweet_id=tweet.retweet_of_id,
        hashtags=[h.tag.lower() for h in entities.hashtags],
        occurred_at=to_timestamp(time.time()),
    )
    await outbox.add(tx, DELETED, event, msg_id=f"tweet.deleted:{tweet.id}")
