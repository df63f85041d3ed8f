"""The other services as search needs them, called through the mesh as the current caller (or as whom a
worker acts for): matches are hydrated by their owners, and relationships come from the graph."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import grpc
from chirp.engagement.v1 import engagement_pb2, engagement_service_pb2, engagement_service_pb2_grpc
from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.tweet.v1 import tweet_pb2, tweet_service_pb2, tweet_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.kit.batching import chunks
from services.kit.identity import acting_as
from services.search.user_index import USERNAME

__all__ = ["BATCH", "Peers"]

BATCH = 500  # the largest batch every Batch* RPC here takes


class Peers:
    def __init__(
        self,
        *,
        tweets: tweet_service_pb2_grpc.TweetServiceStub,
        users: user_service_pb2_grpc.UserServiceStub,
        graph: graph_service_pb2_grpc.GraphServiceStub,
        engagement: engagement_service_pb2_grpc.EngagementServiceStub,
    ) -> None:
        self._tweets = tweets
        self._users = users
        self._graph = graph
        self._engagement = engagement

    async def relationships(self, viewer_id: int, user_ids: Iterable[int]) -> dict[int, user_pb2.Relationship]:
        """The viewer's relationship to each user, by user id."""
        ids = sorted(set(user_ids))
        found: dict[int, user_pb2.Relationship] = {}
        for chunk in chunks(ids, BATCH):
            answer = await self._graph.BatchGetRelationships(
                graph_service_pb2.BatchGetRelationshipsRequest(source_user_id=viewer_id, target_user_ids=chunk)
            )
            found.update(answer.relationships)
        return found

    async def tweets(self, tweet_ids: Sequence[int]) -> list[tweet_pb2.Tweet]:
        """The tweets hydrated for the caller, in order; deleted ones and those the caller may not see left out."""
        shown: list[tweet_pb2.Tweet] = []
        for chunk in chunks(list(tweet_ids), BATCH):
            answer = await self._tweets.BatchGetTweets(tweet_service_pb2.BatchGetTweetsRequest(tweet_ids=chunk))
            shown.extend(answer.tweets)
        return shown

    async def tweet_as_author(self, tweet_id: int, author_id: int) -> tweet_pb2.Tweet | None:
        """The tweet as its author sees it (they see all of their own), with current counters; None if gone."""
        with acting_as(author_id):
            shown = await self.tweets([tweet_id])
        return shown[0] if shown else None

    async def users(self, user_ids: Sequence[int]) -> list[user_pb2.User]:
        """The users in order; unknown ids left out."""
        found: list[user_pb2.User] = []
        for chunk in chunks(list(user_ids), BATCH):
            answer = await self._users.BatchGetUsers(user_service_pb2.BatchGetUsersRequest(ids=chunk))
            found.extend(answer.users)
        return found

    async def user_id(self, username: str) -> int | None:
        """The id of the user with this username (ignoring case); None if there is none."""
        if not USERNAME.fullmatch(username):
            return None  # could not be anyone's: not worth a call the user service would refuse
        try:
            answer = await self._users.LookupUser(user_service_pb2.LookupUserRequest(username=username))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        user_id: int = answer.user.id
        return user_id

    async def engagement(self, tweet_ids: Sequence[int]) -> dict[int, engagement_pb2.TweetEngagement]:
        """Like and retweet counts by tweet id (no viewer state: called without a reader)."""
        found: dict[int, engagement_pb2.TweetEngagement] = {}
        with acting_as(None):
            for chunk in chunks(list(tweet_ids), BATCH):
                answer = await self._engagement.BatchGetEngagement(
                    engagement_service_pb2.BatchGetEngagementRequest(tweet_ids=chunk)
                )
                found.update((e.tweet_id, e) for e in answer.engagements)
        return found
