"""Stored notifications as their reader sees them: actors and tweets hydrated, and hidden what the reader may
no longer see.

A page costs three calls whatever its size, made together: the reader's relationships to every actor on it
(GraphService.BatchGetRelationships), the actors (UserService.BatchGetUsers), and the tweets hydrated for the
reader (TweetService.BatchGetTweets, called as the reader, so it leaves out deleted tweets and tweets the
reader may not see). Notifications were already filtered when they were made and blocks and mutes take
actors out as they happen; this is the same rule once more, for whatever changed in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.notification.v1 import notification_pb2
from chirp.tweet.v1 import tweet_pb2, tweet_service_pb2, tweet_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.kit.timestamps import to_timestamp
from services.notification.model import Kind, Stored
from services.notification.people import silenced
from services.user.public import summary_of

__all__ = ["SHOWN_ACTORS", "Views", "summary"]

# The actors a notification names; `actor_count` says how many there are in all.
SHOWN_ACTORS = 3

_VERBS = {
    Kind.LIKE: "liked your tweet",
    Kind.RETWEET: "retweeted your tweet",
    Kind.REPLY: "replied to your tweet",
    Kind.QUOTE: "quoted your tweet",
    Kind.MENTION: "mentioned you",
    Kind.FOLLOW: "followed you",
    Kind.FOLLOW_REQUEST: "requested to follow you",
    Kind.DIRECT_MESSAGE: "sent you a message",
}


def summary(kind: Kind, names: Sequence[str], count: int) -> str:
    """ "Alice liked your tweet", "Alice and Bob liked your tweet", "Alice and 3 others liked your tweet"."""
    if not names:
        raise ValueError("a notification names at least one actor")
    count = max(count, len(names))
    if count == 1:
        who = names[0]
    elif count == 2 and len(names) >= 2:
        who = f"{names[0]} and {names[1]}"
    else:
        others = count - 1
        who = f"{names[0]} and {others} other{'s' if others > 1 else ''}"
    return f"{who} {_VERBS[kind]}"


class Views:
    def __init__(
        self,
        *,
        users: user_service_pb2_grpc.UserServiceStub,
        tweets: tweet_service_pb2_grpc.TweetServiceStub,
        graph: graph_service_pb2_grpc.GraphServiceStub,
    ) -> None:
        self._users = users
        self._tweets = tweets
        self._graph = graph

    async def render(self, reader_id: int, stored: Sequence[Stored]) -> list[notification_pb2.Notification]:
        """The notifications of `stored` the reader may see, in the same order, as the contract's messages.

        Call it as the reader (`current_user_id()` is `reader_id`): tweets are hydrated for the caller.
        """
        actor_ids = list(dict.fromkeys(a for s in stored for a in s.actors))
        tweet_ids = list(dict.fromkeys(s.tweet_id for s in stored if s.tweet_id))
        relationships, users, tweets = await asyncio.gather(
            self._relationships(reader_id, actor_ids), self._load_users(actor_ids), self._load_tweets(tweet_ids)
        )
        answer = []
        for item in stored:
            tweet = tweets.get(item.tweet_id) if item.tweet_id else None
            if item.tweet_id and tweet is None:
                continue  # deleted, or no longer visible to the reader
            visible = [
                users[a] for a in item.actors if a in users and a in relationships and not silenced(relationships[a])
            ]
            if not visible:
                continue
            hidden = len(item.actors) - len(visible)
            answer.append(_to_proto(item, visible, max(len(visible), item.actor_count - hidden), tweet))
        return answer

    async def _relationships(self, reader_id: int, actor_ids: list[int]) -> dict[int, user_pb2.Relationship]:
        if not actor_ids:
            return {}
        answer = await self._graph.BatchGetRelationships(
            graph_service_pb2.BatchGetRelationshipsRequest(source_user_id=reader_id, target_user_ids=actor_ids)
        )
        return dict(answer.relationships)

    async def _load_users(self, ids: list[int]) -> dict[int, user_pb2.User]:
        if not ids:
            return {}
        answer = await self._users.BatchGetUsers(user_service_pb2.BatchGetUsersRequest(ids=ids))
        return {u.id: u for u in answer.users}

    async def _load_tweets(self, ids: list[int]) -> dict[int, tweet_pb2.Tweet]:
        if not ids:
            return {}
        answer = await self._tweets.BatchGetTweets(tweet_service_pb2.BatchGetTweetsRequest(tweet_ids=ids))
        return {t.id: t for t in answer.tweets}


def _to_proto(
    item: Stored, actors: list[user_pb2.User], count: int, tweet: tweet_pb2.Tweet | None
) -> notification_pb2.Notification:
    shown = actors[:SHOWN_ACTORS]
    notification = notification_pb2.Notification(
        id=item.id,
        type=int(item.kind),  # type: ignore[arg-type]  # the enum's numbers are Kind's
        actors=[summary_of(u) for u in shown],
        actor_count=count,
        created_at=to_timestamp(item.created_at),
        updated_at=to_timestamp(item.updated_at),
        read=item.read,
        summary=summary(item.kind, [u.display_name or u.username for u in shown], count),
    )
    if tweet is not None:
        notification.tweet.CopyFrom(tweet)
    return notification

