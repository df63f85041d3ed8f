"""Reading a home timeline: the cached ids merged with the famous followees' newest, hydrated and filtered.

A page is the `size` newest ids older than the cursor from the union of the reader's cached timeline and the
newest tweets of the famous accounts they follow (pulled, never pushed). The cursor is the last id of that
union, not of what is shown after filtering, so tweets arriving while a reader pages (always newer than any
cursor) never shift a page: no entry is skipped or repeated. A page may hold fewer tweets than asked while
more remain (the contract says so) because of what is left out:

- what the reader may not see now: hydration (TweetService.BatchGetTweets, as the reader) applies blocks and
  protected accounts and drops deleted tweets;
- tweets of authors the reader no longer follows (an unfollow or block whose event the fan-out has not yet
  applied) and tweets by or retweeted from accounts the reader mutes, by the relationships the hydration
  answers with (the ones it decided visibility by: no second call to the graph);
- the second appearance of a tweet: the cache already keeps one entry per tweet and its retweets, and pulled
  tweets are held to the same rule (the original if the timeline has it, else its oldest retweet).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chirp.tweet.v1 import tweet_pb2, tweet_service_pb2, tweet_service_pb2_grpc
from chirp.user.v1 import user_pb2

from services.kit import paging
from services.timeline.cache import CachedPage, TimelineCache
from services.timeline.famous import FamousRegistry
from services.timeline.rebuild import Rebuilder
from services.timeline.sources import Sources
from services.timeline.visits import Visits

__all__ = ["HomePage", "HomeReader"]


@dataclass(frozen=True, slots=True)
class HomePage:
    tweets: list[tweet_pb2.Tweet]
    next_page_token: str


def _content(tweet: tweet_pb2.Tweet) -> int:
    """The tweet whose text a timeline entry shows: itself, or for a retweet the original."""
    return tweet.retweeted_tweet.id if tweet.HasField("retweeted_tweet") else tweet.id


def _allowed(reader_id: int, answer: tweet_service_pb2.BatchGetTweetsResponse) -> list[tweet_pb2.Tweet]:
    """Leave out tweets of authors the reader does not follow (any more) or mutes, and retweets of muted."""
    relationships = answer.author_relationships
    none = user_pb2.Relationship()

    def shown(tweet: tweet_pb2.Tweet) -> bool:
        author = tweet.author.id
        if author != reader_id:
            relationship = relationships.get(author, none)
            if not relationship.following or relationship.muting:
                return False
        if tweet.HasField("retweeted_tweet"):
            original = tweet.retweeted_tweet.author.id
            if original != reader_id and relationships.get(original, none).muting:
                return False
        return True

    return [t for t in answer.tweets if shown(t)]


class HomeReader:
    def __init__(
        self,
        *,
        cache: TimelineCache,
        famous: FamousRegistry,
        rebuilder: Rebuilder,
        sources: Sources,
        tweets: tweet_service_pb2_grpc.TweetServiceStub,
        visits: Visits | None = None,
    ) -> None:
        self._visits = visits
        self._cache = cache
        self._famous = famous
        self._rebuilder = rebuilder
        self._sources = sources
        self._tweets = tweets

    async def page(self, reader_id: int, *, before: int | None, size: int) -> HomePage:
        """The page of `reader_id`'s home timeline older than `before`; runs as the reader."""
        cached = await self._cache.read(reader_id, before=before, limit=size)
        if cached is None:
            if self._visits is not None:
                await self._visits.record(reader_id)  # no longer INACTIVE: pushes reach the rebuilt timeline
            await self._rebuilder.rebuild(reader_id)
            cached = await self._cache.read(reader_id, before=before, limit=size) or CachedPage([], [])
        elif cached.renewed and self._visits is not None:
            self._visits.record_later(reader_id)
        pulled = await self._pulled(reader_id, cached.famous, before=before, size=size)
        ids = sorted(set(cached.tweet_ids) | pulled, reverse=True)[:size]
        token = paging.next_token(ids, size=size)
        if not ids:
            return HomePage([], token)
        answer = await self._tweets.BatchGetTweets(tweet_service_pb2.BatchGetTweetsRequest(tweet_ids=ids))
        tweets = _allowed(reader_id, answer)
        tweets = await self._once(reader_id, tweets, pulled=pulled, famous=set(cached.famous))
        return HomePage(tweets, token)

    async def _pulled(self, reader_id: int, famous: Sequence[int], *, before: int | None, size: int) -> set[int]:
        if not famous:
            return set()
        authored = await self._famous.newest(famous, before=before, limit=size)
        ids = set(authored.tweet_ids)
        if authored.missing:
            still = await self._famous.among(authored.missing)
            for former in set(authored.missing) - still:
                # Demoted while this timeline was being rebuilt: the demotion merged their tweets into it.
                await self._cache.remove_famous(reader_id, former)
            if still:  # lists not cached (evicted): ask the store; the fan-out refills them
                ids.update(await self._sources.recent_ids(sorted(still), limit=size, before=before))
        return ids

    async def _once(
        self, reader_id: int, tweets: list[tweet_pb2.Tweet], *, pulled: set[int], famous: set[int]
    ) -> list[tweet_pb2.Tweet]:
        """Each tweet once: the cache holds one entry per tweet and its retweets; pulled entries join that."""
        # A pulled retweet gives way to what the cache shows of the same tweet.
        originals = [t.retweeted_tweet.id for t in tweets if t.id in pulled and t.HasField("retweeted_tweet")]
        in_cache = await self._cache.grouped(reader_id, originals)

        def duplicate(tweet: tweet_pb2.Tweet) -> bool:
            if not tweet.HasField("retweeted_tweet"):
                return False
            if tweet.retweeted_tweet.author.id in famous:
                return True  # the original is pulled itself
            return tweet.id in pulled and tweet.retweeted_tweet.id in in_cache

        kept = [t for t in tweets if not duplicate(t)]
        # Within the page, the oldest appearance stands for the tweet (the original before its retweets).
        seen: set[int] = set()
        oldest_first = []
        for tweet in reversed(kept):
            if _content(tweet) not in seen:
                seen.add(_content(tweet))
                oldest_first.append(tweet)
        return oldest_first[::-1]
