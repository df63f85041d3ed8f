"""Rebuild the search index from the stores: `python -m services.search.backfill [--fresh] [--batch N]`.

Reads every user (UserService.ScanUsers) and every tweet (TweetService.ScanTweets) through the mesh, adds the
like and retweet counts (EngagementService.BatchGetEngagement) and the authors' protected setting
(UserService.BatchGetUsers), writes them in batches, then recounts every hashtag seen. It is configured like
the search service (CHIRP_MESH_ADDR, CHIRP_TYPESENSE_URL, CHIRP_TYPESENSE_API_KEY, ...) and prints its progress.

It can run while the service runs, and any number of times: tweets are written with the same convergent
writes the indexer uses (see tweet_index), so a tweet deleted meanwhile stays deleted, and users are
rewritten from their current state. Without `--fresh` it repairs in place (adds what is missing, refreshes
counts and settings); with `--fresh` it first drops the collections, which also forgets documents whose
tweets no longer exist — search answers partial results until it finishes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

import grpc
from chirp.engagement.v1.engagement_service_pb2_grpc import EngagementServiceStub
from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.tweet.v1 import tweet_pb2, tweet_service_pb2
from chirp.tweet.v1.tweet_service_pb2_grpc import TweetServiceStub
from chirp.user.v1 import user_service_pb2
from chirp.user.v1.user_service_pb2_grpc import UserServiceStub

from services.kit import clients
from services.kit.config import StartupError, load_settings
from services.kit.errors import Unavailable
from services.search.documents import Counts, hashtags_of, message_document
from services.search.hashtag_index import HashtagIndex
from services.search.peers import Peers
from services.search.schema import Collections, prepare
from services.search.settings import SearchSettings
from services.search.tweet_index import TweetIndex
from services.search.typesense import Document, Typesense
from services.search.user_index import UserIndex

__all__ = ["Backfill", "Progress", "main"]

_HASHTAG_BATCH = 100


@dataclass
class Progress:
    users: int = 0
    tweets: int = 0
    skipped_retweets: int = 0
    hashtags: int = 0
    started: float = field(default_factory=time.monotonic)

    def line(self, stage: str) -> str:
        return (
            f"backfill {stage}: {self.users} users, {self.tweets} tweets ({self.skipped_retweets} retweet rows"
            f" skipped), {self.hashtags} hashtags, {time.monotonic() - self.started:.1f}s"
        )


class Backfill:
    def __init__(
        self,
        *,
        tweet_service: TweetServiceStub,
        user_service: UserServiceStub,
        peers: Peers,
        tweets: TweetIndex,
        users: UserIndex,
        hashtags: HashtagIndex,
        batch: int = 500,
        out: TextIO | None = None,
    ) -> None:
        self._tweet_service = tweet_service
        self._user_service = user_service
        self._peers = peers
        self._tweets = tweets
        self._users = users
        self._hashtags = hashtags
        self._batch = batch
        self._out = out or sys.stdout
        self.progress = Progress()

    async def run(self) -> Progress:
        await self._backfill_users()
        tags = await self._backfill_tweets()
        await self._recount(sorted(tags))
        self._say("done")
        return self.progress

    async def _backfill_users(self) -> None:
        after = 0
        while True:
            answer = await self._user_service.ScanUsers(
                user_service_pb2.ScanUsersRequest(after_id=after, limit=self._batch)
            )
            users = list(answer.users)
            if users:
                await self._users.put(users)
                self.progress.users += len(users)
                after = users[-1].id
                self._say("users")
            if len(users) < self._batch:
                return

    async def _backfill_tweets(self) -> set[str]:
        tags: set[str] = set()
        after = 0
        while True:
            answer = await self._tweet_service.ScanTweets(
                tweet_service_pb2.ScanTweetsRequest(after_id=after, limit=self._batch)
            )
            page = list(answer.tweets)
            if page:
                after = page[-1].id
                originals = [t for t in page if not t.HasField("retweeted_tweet")]
                self.progress.skipped_retweets += len(page) - len(originals)
                documents = await self._documents(originals)
                await self._tweets.put(documents)
                for tweet in originals:
                    tags.update(hashtags_of(tweet.entities))
                self.progress.tweets += len(documents)
                self._say("tweets")
            if len(page) < self._batch:
                return tags

    async def _documents(self, tweets: Sequence[tweet_pb2.Tweet]) -> list[Document]:
        if not tweets:
            return []
        authors, engagement = await asyncio.gather(
            self._peers.users(sorted({t.author.id for t in tweets})),
            self._peers.engagement([t.id for t in tweets]),
        )
        protected = {u.id: u.protected for u in authors}
        documents = []
        for tweet in tweets:
            counters = engagement.get(tweet.id)
            counts = Counts(
                likes=counters.like_count if counters else 0,
                retweets=counters.retweet_count if counters else 0,
                replies=tweet.reply_count,
                quotes=tweet.quote_count,
            )
            # An author the user service does not know is treated as protected: hidden rather than exposed.
            is_protected = protected.get(tweet.author.id, True)
            documents.append(message_document(tweet, author_protected=is_protected, counts=counts))
        return documents

    async def _recount(self, tags: list[str]) -> None:
        for i in range(0, len(tags), _HASHTAG_BATCH):
            chunk = tags[i : i + _HASHTAG_BATCH]
            await self._hashtags.recount(chunk)
            self.progress.hashtags += len(chunk)
            self._say("hashtags")

    def _say(self, stage: str) -> None:
        print(self.progress.line(stage), file=self._out, flush=True)


async def _main(settings: SearchSettings, *, fresh: bool, batch: int) -> Progress:
    typesense = Typesense(settings.typesense_url, settings.api_key(), timeout=settings.typesense_timeout)
    channel = clients.mesh_channel(settings.mesh_addr, service="search-backfill")
    try:
        collections = Collections.with_prefix(settings.search_collection_prefix)
        if fresh:
            for name in (collections.tweets, collections.users, collections.hashtags):
                if await typesense.drop_collection(name):
                    print(f"backfill: dropped collection {name}", flush=True)
        await prepare(typesense, collections, url=settings.typesense_url)
        tweets = TweetIndex(typesense, collections.tweets)
        peers = Peers(
            tweets=clients.stub(channel, TweetServiceStub),
            users=clients.stub(channel, UserServiceStub),
            graph=clients.stub(channel, GraphServiceStub),
            engagement=clients.stub(channel, EngagementServiceStub),
        )
        backfill = Backfill(
            tweet_service=clients.stub(channel, TweetServiceStub),
            user_service=clients.stub(channel, UserServiceStub),
            peers=peers,
            tweets=tweets,
            users=UserIndex(typesense, collections.users),
            hashtags=HashtagIndex(typesense, collections.hashtags, tweets),
            batch=batch,
        )
        return await backfill.run()
    finally:
        await channel.close()
        await typesense.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.search.backfill", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--fresh", action="store_true", help="drop the collections first (a full rebuild)")
    parser.add_argument("--batch", type=int, default=500, choices=range(1, 1001), metavar="1..1000",
                        help="rows per scan page and per index write (default 500)")  # fmt: skip
    args = parser.parse_args(argv)
    settings = load_settings(SearchSettings, "search")
    try:
        asyncio.run(_main(settings, fresh=args.fresh, batch=args.batch))
    except (StartupError, Unavailable) as exc:
        print(f"backfill: {exc}", file=sys.stderr)
        return 1
    except grpc.aio.AioRpcError as exc:
        print(f"backfill: a call through the mesh ({settings.mesh_addr}) failed: {exc.code().name}: {exc.details()}",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
