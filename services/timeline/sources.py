"""What timelines are made from, read through their owners' RPCs: the graph's follows, the tweet store's ids.

Calls carry the current identity (the mesh forwards it; workers set it with `acting_as`), which matters for
`entries`: it hydrates through TweetService.BatchGetTweets, so it answers only what that user may see.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.tweet.v1 import tweet_service_pb2, tweet_service_pb2_grpc

from services.kit.batching import chunks
from services.timeline.cache import Entry

__all__ = ["ID_PAGE", "Sources"]

# The largest page ListFollowerIds / ListFollowingIds answer: one graph call, one pipelined Redis round trip.
ID_PAGE = 10_000
_AUTHORS_PER_CALL = 5000  # the most author ids ListAuthorTweetIds takes
_IDS_PER_CALL = 1000  # the most tweet ids it answers
_HYDRATE_PER_CALL = 500  # the most ids BatchGetTweets takes


class Sources:
    def __init__(
        self, *, graph: graph_service_pb2_grpc.GraphServiceStub, tweets: tweet_service_pb2_grpc.TweetServiceStub
    ) -> None:
        self._graph = graph
        self._tweets = tweets

    async def followers(self, user_id: int, *, page_size: int = ID_PAGE) -> AsyncIterator[list[int]]:
        """The user's followers, a page at a time."""
        token = ""
        while True:
            page = await self._graph.ListFollowerIds(
                graph_service_pb2.ListFollowerIdsRequest(user_id=user_id, page_size=page_size, page_token=token)
            )
            if page.user_ids:
                yield list(page.user_ids)
            token = page.next_page_token
            if not token:
                return

    async def following(self, user_id: int) -> list[int]:
        """Every user the user follows."""
        found: list[int] = []
        token = ""
        while True:
            page = await self._graph.ListFollowingIds(
                graph_service_pb2.ListFollowingIdsRequest(user_id=user_id, page_size=ID_PAGE, page_token=token)
            )
            found += page.user_ids
            token = page.next_page_token
            if not token:
                return found

    async def recent_ids(self, author_ids: Sequence[int], *, limit: int, before: int | None = None) -> list[int]:
        """The newest ids (retweets included) by any of these authors older than `before`, newest first."""
        if not author_ids:
            return []
        answers = await asyncio.gather(
            *(
                self._tweets.ListAuthorTweetIds(
                    tweet_service_pb2.ListAuthorTweetIdsRequest(
                        author_ids=chunk, max_id=before or 0, limit=min(limit, _IDS_PER_CALL)
                    )
                )
                for chunk in chunks(author_ids, _AUTHORS_PER_CALL)
            )
        )
        ids = {t for answer in answers for t in answer.tweet_ids}
        return sorted(ids, reverse=True)[:limit]

    async def entries(self, tweet_ids: Sequence[int]) -> list[Entry]:
        """These tweets as timeline entries, in order; those the current user may not see are left out.

        The tweet store's id lists do not say which ids are retweets, so the tweets are hydrated to learn it.
        """
        if not tweet_ids:
            return []
        answers = await asyncio.gather(
            *(
                self._tweets.BatchGetTweets(tweet_service_pb2.BatchGetTweetsRequest(tweet_ids=chunk))
                for chunk in chunks(tweet_ids, _HYDRATE_PER_CALL)
            )
        )
        return [
            Entry(t.id, t.retweeted_tweet.id if t.HasField("retweeted_tweet") else 0)
            for answer in answers
            for t in answer.tweets
        ]

    async def recent_entries(self, author_ids: Sequence[int], *, limit: int) -> list[Entry]:
        return await self.entries(await self.recent_ids(author_ids, limit=limit))
