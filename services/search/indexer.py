"""The JetStream indexer: keeps the three collections current from the tweet, user, engagement and graph events.

Every handler is idempotent under redelivery and safe in any order (see tweet_index, user_index and
hashtag_index for why): documents are added only if absent, refreshed from the owning service's current
state, or tombstoned; counts are set, never incremented.

- `chirp.tweet.created` / `.deleted`: index or tombstone the tweet, recount its hashtags. Retweet rows are
  not search results and are skipped (the retweeted tweet's count changes through the engagement events).
- The same two subjects again, under their own consumers: a reply or quote changes the reply or quote count
  of the tweet it answers, which is refreshed (TOP ranks by engagement).
- `chirp.engagement.liked` / `unliked` / `retweeted` / `unretweeted`: refresh the tweet's counts.
- `chirp.user.created` / `.updated`: refresh the profile, many users per round trip (a burst of sign-ups is
  one user lookup and one import per batch, not per user); after an update, also mark the user's tweets with
  their protected setting and recount the hashtags that changed. A new account has no indexed tweets to mark:
  tweets are indexed with the protected setting their own event carries.
- `chirp.graph.followed` / `unfollowed`: refresh the followed user's follower count, which ranks people
  search — a moment later, see FollowerCounts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chirp.engagement.v1 import engagement_events_pb2
from chirp.graph.v1 import graph_events_pb2
from chirp.tweet.v1 import tweet_events_pb2
from chirp.user.v1 import user_events_pb2
from google.protobuf.message import Message
from prometheus_client import Histogram

from services.kit.batching import Batched
from services.kit.events import Delivery, Events
from services.kit.locks import KeyedLocks
from services.search.documents import created_document, hashtags_of, message_document
from services.search.hashtag_index import HashtagIndex
from services.search.peers import BATCH, Peers
from services.search.tweet_index import TweetIndex
from services.search.user_index import UserIndex

__all__ = ["STREAMS", "FollowerCounts", "Indexer", "consumers"]

log = logging.getLogger(__name__)

STREAMS = ("tweet", "user", "engagement", "graph")

_INDEX_LAG = Histogram(
    "chirp_search_index_lag_seconds",
    "From a tweet's chirp.tweet.created reaching JetStream to the tweet being searchable.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

EngagementEvent = (
    engagement_events_pb2.TweetLiked
    | engagement_events_pb2.TweetUnliked
    | engagement_events_pb2.TweetRetweeted
    | engagement_events_pb2.TweetUnretweeted
)


class Indexer:
    def __init__(self, *, tweets: TweetIndex, users: UserIndex, hashtags: HashtagIndex, peers: Peers) -> None:
        self._tweets = tweets
        self._users = users
        self._hashtags = hashtags
        self._peers = peers
        # A refresh reads the owner's current state, then writes it. Two refreshes of one document interleaved
        # could write the older read last; one at a time per document, the last write is the latest state.
        self._refreshing = KeyedLocks()
        # Profile refreshes run one batch at a time, so two refreshes of one profile never interleave either.
        self._profiles: Batched[_ProfileChange] = Batched(self._refresh_profiles)

    async def on_tweet_created(self, event: tweet_events_pb2.TweetCreated, delivery: Delivery) -> None:
        if event.retweeted_tweet_id:
            return
        if await self._tweets.add(created_document(event)):
            lag = (datetime.now(UTC) - delivery.published_at).total_seconds()
            _INDEX_LAG.observe(max(lag, 0.0))
            log.debug("indexed tweet %s %.0f ms after its event was published", event.tweet_id, lag * 1000)
        # Also when it was there already: a redelivery after a crash between the two steps must still count.
        await self._hashtags.recount(hashtags_of(event.entities))

    async def on_tweet_deleted(self, event: tweet_events_pb2.TweetDeleted, delivery: Delivery) -> None:
        if event.retweeted_tweet_id:
            return
        await self._tweets.tombstone(event.tweet_id)
        await self._hashtags.recount(event.hashtags)
        log.debug("tweet %s deleted from the index", event.tweet_id)

    async def on_reply_or_quote_created(self, event: tweet_events_pb2.TweetCreated, delivery: Delivery) -> None:
        for tweet_id, author_id in (
            (event.reply_to_tweet_id, event.reply_to_user_id),
            (event.quote_tweet_id, event.quote_tweet_author_id),
        ):
            if tweet_id and author_id:
                await self.refresh_tweet(tweet_id, author_id)

    async def on_reply_or_quote_deleted(self, event: tweet_events_pb2.TweetDeleted, delivery: Delivery) -> None:
        for tweet_id in (event.reply_to_tweet_id, event.quote_tweet_id):
            if not tweet_id:
                continue
            # The event does not name the parent's author; the index does (not indexed: nothing to refresh).
            document = await self._tweets.get(tweet_id)
            if document is not None and document.get("author_id"):
                await self.refresh_tweet(tweet_id, int(document["author_id"]))

    async def on_engagement(self, event: EngagementEvent, delivery: Delivery) -> None:
        await self.refresh_tweet(event.tweet_id, event.tweet_author_id)

    async def on_user_changed(
        self, event: user_events_pb2.UserCreated | user_events_pb2.UserUpdated, delivery: Delivery
    ) -> None:
        updated = isinstance(event, user_events_pb2.UserUpdated)
        await self._profiles.submit(_ProfileChange(event.user.id, mark_tweets=updated))

    async def _refresh_profiles(self, changes: Sequence[_ProfileChange]) -> None:
        """Rewrite the profiles from the user service's current state, and mark tweets where asked."""
        users = await self._peers.users(list(dict.fromkeys(c.user_id for c in changes)))
        if not users:
            return
        await self._users.put(users)
        marked = {c.user_id for c in changes if c.mark_tweets}
        recount: set[str] = set()
        for user in users:
            if user.id in marked:
                recount |= await self._tweets.set_author_protected(user.id, user.protected)
        await self._hashtags.recount(recount)

    async def refresh_tweet(self, tweet_id: int, author_id: int) -> None:
        """Rewrite the tweet's document from the tweet service's current view (counts included)."""
        async with self._refreshing.hold(("tweet", tweet_id)):
            tweet = await self._peers.tweet_as_author(tweet_id, author_id)
            if tweet is None or tweet.HasField("retweeted_tweet"):
                return  # deleted (its tombstone stays), or a retweet row, which is never indexed
            await self._tweets.put([message_document(tweet, author_protected=tweet.author.protected)])


@dataclass(frozen=True, slots=True)
class _ProfileChange:
    user_id: int
    mark_tweets: bool


class FollowerCounts:
    """Refreshes users' follower counts, which rank people search, from follow events.

    The user service counts follows from the same events, so reading the count the moment a follow arrives
    would often miss that very follow. The refresh waits `settle` seconds instead, and batches: a user
    followed many times in a moment is read once. The event is acknowledged at once — a count lost to a
    crash only ranks a user slightly off until their next follow or profile change (or a backfill).
    """

    def __init__(self, users: UserIndex, peers: Peers, *, settle: float = 1.0, retry: float = 5.0) -> None:
        self._users = users
        self._peers = peers
        self._settle = settle
        self._retry = retry
        self._due: dict[int, float] = {}
        self._wake = asyncio.Event()

    async def on_follow_changed(
        self, event: graph_events_pb2.Followed | graph_events_pb2.Unfollowed, delivery: Delivery
    ) -> None:
        self._due.setdefault(event.target_user_id, asyncio.get_running_loop().time() + self._settle)
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._due:
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = min(self._due.values()) - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            now = loop.time()
            ready = [user_id for user_id, at in self._due.items() if at <= now][:BATCH]
            # Taken off before reading, so a follow arriving during the read schedules another refresh.
            for user_id in ready:
                del self._due[user_id]
            try:
                users = await self._peers.users(ready)
                await self._users.put(users)
            except Exception as exc:  # the user service or Typesense is down: keep the ids, try again later
                log.warning("follower counts of %d users not refreshed (%r); retrying", len(ready), exc)
                for user_id in ready:
                    self._due.setdefault(user_id, now + self._retry)


def consumers(
    events: Events, indexer: Indexer, followers: FollowerCounts
) -> list[tuple[str, Coroutine[Any, Any, None]]]:
    """The (durable name, consume loop) pairs of the indexer, for `rt.spawn`."""
    tweet, engagement, user, graph = tweet_events_pb2, engagement_events_pb2, user_events_pb2, graph_events_pb2
    # (subject, event type, handler, concurrency, durable suffix). Handlers do not depend on the order of events,
    # so several are handled at once, which keeps up with bursts.
    subscriptions: list[tuple[str, type[Message], Any, int, str]] = [
        ("chirp.tweet.created", tweet.TweetCreated, indexer.on_tweet_created, 16, ""),
        ("chirp.tweet.deleted", tweet.TweetDeleted, indexer.on_tweet_deleted, 16, ""),
        ("chirp.tweet.created", tweet.TweetCreated, indexer.on_reply_or_quote_created, 8, "-counts"),
        ("chirp.tweet.deleted", tweet.TweetDeleted, indexer.on_reply_or_quote_deleted, 8, "-counts"),
        ("chirp.engagement.liked", engagement.TweetLiked, indexer.on_engagement, 8, ""),
        ("chirp.engagement.unliked", engagement.TweetUnliked, indexer.on_engagement, 8, ""),
        ("chirp.engagement.retweeted", engagement.TweetRetweeted, indexer.on_engagement, 8, ""),
        ("chirp.engagement.unretweeted", engagement.TweetUnretweeted, indexer.on_engagement, 8, ""),
        # Many at once: each fetch of user events becomes one batched refresh (see Indexer.on_user_changed).
        ("chirp.user.created", user.UserCreated, indexer.on_user_changed, 100, ""),
        ("chirp.user.updated", user.UserUpdated, indexer.on_user_changed, 100, ""),
        ("chirp.graph.followed", graph.Followed, followers.on_follow_changed, 16, ""),
        ("chirp.graph.unfollowed", graph.Unfollowed, followers.on_follow_changed, 16, ""),
    ]
    loops = []
    for subject, kind, handler, concurrency, suffix in subscriptions:
        # `search-<domain>-<event>[-suffix]`, e.g. search-tweet-created-counts
        durable = f"search-{subject.removeprefix('chirp.').replace('.', '-')}{suffix}"
        loops.append((durable, events.consume(subject, kind, handler, durable=durable, concurrency=concurrency)))
    return loops
