"""Index documents built from events and stored or hydrated messages, and the TOP score.

TOP orders by text match, then by `top_score`, which weighs engagement against recency without a clock: it is
the tweet's age on an absolute scale plus the log of its engagement, so the order of two tweets never changes
with time and the score can be stored (the trick behind Reddit's "hot" ranking). A tweet `RECENCY_DOUBLING_S`
newer weighs as much as one with twice the engagement.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from chirp.tweet.v1 import tweet_events_pb2, tweet_pb2
from chirp.user.v1 import user_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.kit.snowflake import EPOCH
from services.search.typesense import Document

__all__ = [
    "RECENCY_DOUBLING_S",
    "Counts",
    "created_document",
    "hashtag_document",
    "hashtag_id",
    "hashtags_of",
    "message_document",
    "top_score",
    "tweet_document",
    "user_document",
]

RECENCY_DOUBLING_S = 12 * 3600
_EPOCH_S = EPOCH.timestamp()
_SCALE = 1000  # top_score is an int64: three decimals of the score are plenty and sort exactly


@dataclass(frozen=True, slots=True)
class Counts:
    likes: int = 0
    retweets: int = 0
    replies: int = 0
    quotes: int = 0

    @property
    def engagement(self) -> int:
        # A retweet or quote puts the tweet in front of new readers, so they count double.
        return self.likes + 2 * self.retweets + self.replies + 2 * self.quotes


def top_score(created_at: float, counts: Counts) -> int:
    recency = (created_at - _EPOCH_S) / RECENCY_DOUBLING_S
    return round(_SCALE * (recency + math.log2(1 + max(counts.engagement, 0))))


def hashtags_of(entities: tweet_pb2.TweetEntities) -> list[str]:
    """The distinct hashtags, lower-cased as the tweet service does for its deletion events."""
    return list(dict.fromkeys(h.tag.lower() for h in entities.hashtags))


def tweet_document(
    *,
    tweet_id: int,
    author_id: int,
    author_protected: bool,
    text: str,
    hashtags: Iterable[str],
    created_at: float,
    counts: Counts,
) -> Document:
    return {
        "id": str(tweet_id),
        "tweet_id": tweet_id,
        "author_id": author_id,
        "author_protected": author_protected,
        "text": text,
        "hashtags": list(hashtags),
        "created_at": int(created_at),
        "like_count": counts.likes,
        "retweet_count": counts.retweets,
        "reply_count": counts.replies,
        "quote_count": counts.quotes,
        "top_score": top_score(created_at, counts),
    }


def created_document(event: tweet_events_pb2.TweetCreated) -> Document:
    """A new tweet as its `chirp.tweet.created` event describes it, with no engagement yet."""
    return tweet_document(
        tweet_id=event.tweet_id,
        author_id=event.author_id,
        author_protected=event.author_protected,
        text=event.text,
        hashtags=hashtags_of(event.entities),
        created_at=_seconds(event.created_at),
        counts=Counts(),
    )


def message_document(tweet: tweet_pb2.Tweet, *, author_protected: bool, counts: Counts | None = None) -> Document:
    """A tweet message (hydrated, or a stored row from ScanTweets), with `counts` when the message lacks some."""
    if counts is None:
        counts = Counts(
            likes=tweet.like_count,
            retweets=tweet.retweet_count,
            replies=tweet.reply_count,
            quotes=tweet.quote_count,
        )
    return tweet_document(
        tweet_id=tweet.id,
        author_id=tweet.author.id,
        author_protected=author_protected,
        text=tweet.text,
        hashtags=hashtags_of(tweet.entities),
        created_at=_seconds(tweet.created_at),
        counts=counts,
    )


def user_document(user: user_pb2.User) -> Document:
    return {
        "id": str(user.id),
        "user_id": user.id,
        "username": user.username,
        "username_key": user.username.lower(),
        "display_name": user.display_name,
        "discoverable": user.discoverable,
        "protected": user.protected,
        "follower_count": user.follower_count,
    }


def hashtag_id(name: str) -> str:
    """A document id for any hashtag: Typesense ids travel in URLs, hashtags may hold any letter."""
    return name.encode().hex()


def hashtag_document(name: str, tweet_count: int) -> Document:
    return {"id": hashtag_id(name), "name": name, "tweet_count": tweet_count}


def _seconds(ts: Timestamp) -> float:
    return ts.seconds + ts.nanos / 1e9
