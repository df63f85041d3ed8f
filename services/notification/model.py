"""The notification service's domain types, free of protobuf."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

__all__ = ["GROUPED", "Action", "Change", "Kind", "Stored"]


class Kind(IntEnum):
    """What happened; the numbers are `chirp.notification.v1.NotificationType`'s."""

    LIKE = 1
    RETWEET = 2
    REPLY = 3
    QUOTE = 4
    MENTION = 5
    FOLLOW = 6
    FOLLOW_REQUEST = 7
    DIRECT_MESSAGE = 8


# The kinds that fold many actors into one notification ("Alice and 3 others liked your tweet"). Replies,
# quotes and mentions each carry their own tweet, so each is its own notification.
GROUPED = frozenset({Kind.LIKE, Kind.RETWEET, Kind.FOLLOW, Kind.FOLLOW_REQUEST, Kind.DIRECT_MESSAGE})


@dataclass(frozen=True, slots=True)
class Action:
    """One user's action that may notify another: `actor_id` did `kind` to `recipient_id`.

    `tweet_id` is the tweet the notification shows (the liked tweet; the reply, quote or mentioning tweet), 0
    for follows and follow requests. `at` is when it happened (Unix seconds).
    """

    recipient_id: int
    kind: Kind
    actor_id: int
    tweet_id: int
    at: float


@dataclass(frozen=True, slots=True)
class Stored:
    """A notification as stored: `actors` are the most recent few, newest first; `actor_count` counts all."""

    id: int
    recipient_id: int
    kind: Kind
    tweet_id: int
    actor_count: int
    created_at: float
    updated_at: float
    read: bool
    actors: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Change:
    """A recipient's notifications changed: `notification_id` was made or took an actor (0: only the unread
    count may have moved, e.g. a notification was removed)."""

    recipient_id: int
    notification_id: int = 0
