"""EngagementService: likes, retweets and bookmarks of tweets, their lists, and the counters tweets show."""

from __future__ import annotations

from chirp.engagement.v1 import engagement_pb2, engagement_service_pb2, engagement_service_pb2_grpc
from chirp.tweet.v1 import tweet_pb2

from services.engagement.ledger import Ledger, TweetRef
from services.engagement.people import People
from services.engagement.store import Engagement, EngagementStore, ListEntry
from services.engagement.tweets import Tweets
from services.kit import paging
from services.kit.identity import current_user_id, require_user
from services.kit.locks import KeyedLocks
from services.kit.server import Context

__all__ = ["EngagementService"]

_NEWEST = 2**63 - 1

pb = engagement_service_pb2


class EngagementService(engagement_service_pb2_grpc.EngagementServiceServicer):
    def __init__(self, *, store: EngagementStore, ledger: Ledger, tweets: Tweets, people: People) -> None:
        self._store = store
        self._ledger = ledger
        self._tweets = tweets
        self._people = people
        # A retweet is two writes in two services (the tweet service's row, then our record), and so is an
        # unretweet; a user's concurrent retweet and unretweet of one tweet must not interleave them, or the
        # record could survive its row. Held per (user, tweet), so nobody else waits.
        self._retweeting = KeyedLocks()

    async def LikeTweet(self, request: pb.LikeTweetRequest, context: Context) -> tweet_pb2.Tweet:
        me = require_user()
        tweet = await self._tweets.original(request.tweet_id)
        await self._ledger.like(me, _ref(tweet))
        return await self._answer(tweet, me)

    async def UnlikeTweet(self, request: pb.UnlikeTweetRequest, context: Context) -> tweet_pb2.Tweet:
        me = require_user()
        tweet = await self._tweets.original(request.tweet_id)
        await self._ledger.unlike(me, _ref(tweet))
        return await self._answer(tweet, me)

    async def RetweetTweet(self, request: pb.RetweetTweetRequest, context: Context) -> tweet_pb2.Tweet:
        me = require_user()
        tweet = await self._tweets.original(request.tweet_id)
        async with self._retweeting.hold((me, tweet.id)):
            # The row first: the tweet service decides whether this tweet may be retweeted (protected
            # accounts), and a failure after it leaves a row that a retry of this call adopts (both steps are
            # idempotent).
            retweet_id = await self._tweets.create_retweet(tweet.id)
            await self._ledger.retweet(me, _ref(tweet), retweet_id=retweet_id)
        return await self._answer(tweet, me)

    async def UnretweetTweet(self, request: pb.UnretweetTweetRequest, context: Context) -> tweet_pb2.Tweet:
        me = require_user()
        tweet = await self._tweets.original(request.tweet_id)
        async with self._retweeting.hold((me, tweet.id)):
            # The row first, then our record: if we stop in between, the row's chirp.tweet.deleted event
            # removes the record anyway (see deletions).
            await self._tweets.delete_retweet(tweet.id)
            await self._ledger.unretweet(me, tweet.id)
        return await self._answer(tweet, me)

    async def BookmarkTweet(self, request: pb.BookmarkTweetRequest, context: Context) -> tweet_pb2.Tweet:
        me = require_user()
        tweet = await self._tweets.original(request.tweet_id)
        await self._ledger.bookmark(me, tweet.id)
        return await self._answer(tweet, me)

    async def UnbookmarkTweet(self, request: pb.UnbookmarkTweetRequest, context: Context) -> tweet_pb2.Tweet:
        me = require_user()
        tweet = await self._tweets.original(request.tweet_id)
        await self._ledger.unbookmark(me, tweet.id)
        return await self._answer(tweet, me)

    async def ListLikers(self, request: pb.ListLikersRequest, context: Context) -> pb.ListLikersResponse:
        viewer = current_user_id()
        size = paging.page_size(request.page_size)
        before = paging.parse_token(request.page_token) or _NEWEST
        tweet = await self._tweets.original(request.tweet_id)
        entries = await self._store.likers(tweet.id, before=before, limit=size)
        users = await self._people.visible_to(viewer, [e.id for e in entries])
        return pb.ListLikersResponse(users=users, next_page_token=_next_token(entries, size))

    async def ListRetweeters(self, request: pb.ListRetweetersRequest, context: Context) -> pb.ListRetweetersResponse:
        viewer = current_user_id()
        size = paging.page_size(request.page_size)
        before = paging.parse_token(request.page_token) or _NEWEST
        tweet = await self._tweets.original(request.tweet_id)
        entries = await self._store.retweeters(tweet.id, before=before, limit=size)
        users = await self._people.visible_to(viewer, [e.id for e in entries])
        return pb.ListRetweetersResponse(users=users, next_page_token=_next_token(entries, size))

    async def ListBookmarks(self, request: pb.ListBookmarksRequest, context: Context) -> pb.ListBookmarksResponse:
        me = require_user()
        size = paging.page_size(request.page_size)
        before = paging.parse_token(request.page_token) or _NEWEST
        entries = await self._store.bookmarks(me, before=before, limit=size)
        # Hydrated as the caller: deleted tweets and tweets the caller may no longer see drop out.
        tweets = await self._tweets.visible([e.id for e in entries])
        return pb.ListBookmarksResponse(tweets=tweets, next_page_token=_next_token(entries, size))

    async def BatchGetEngagement(
        self, request: pb.BatchGetEngagementRequest, context: Context
    ) -> pb.BatchGetEngagementResponse:
        viewer = current_user_id()
        found = await self._store.engagements(request.tweet_ids, viewer_id=viewer)
        engagements = [found.get(i) or Engagement(i) for i in request.tweet_ids]  # request order, repeats kept
        return pb.BatchGetEngagementResponse(
            engagements=[_engagement_proto(e, with_viewer=viewer is not None) for e in engagements]
        )

    async def _answer(self, tweet: tweet_pb2.Tweet, viewer_id: int) -> tweet_pb2.Tweet:
        """The tweet with its counters and the caller's engagement read back after the write.

        Read from our own store rather than through a second GetTweet: it is one local query, and the caller
        sees their own write whatever the tweet service's hydration does.
        """
        found = await self._store.engagements([tweet.id], viewer_id=viewer_id)
        engagement = found.get(tweet.id) or Engagement(tweet.id)
        answer = tweet_pb2.Tweet()
        answer.CopyFrom(tweet)
        answer.like_count = engagement.like_count
        answer.retweet_count = engagement.retweet_count
        answer.viewer.CopyFrom(_viewer_state(engagement))
        return answer


def _ref(tweet: tweet_pb2.Tweet) -> TweetRef:
    return TweetRef(id=tweet.id, author_id=tweet.author.id)


def _next_token(entries: list[ListEntry], size: int) -> str:
    # From the stored page, not from what survived filtering: a page thinned by blocks still moves on.
    return paging.next_token([e.cursor for e in entries], size=size)


def _viewer_state(engagement: Engagement) -> tweet_pb2.TweetViewerState:
    return tweet_pb2.TweetViewerState(
        liked=engagement.liked, retweeted=engagement.retweeted, bookmarked=engagement.bookmarked
    )


def _engagement_proto(engagement: Engagement, *, with_viewer: bool) -> engagement_pb2.TweetEngagement:
    answer = engagement_pb2.TweetEngagement(
        tweet_id=engagement.tweet_id, like_count=engagement.like_count, retweet_count=engagement.retweet_count
    )
    if with_viewer:
        answer.viewer.CopyFrom(_viewer_state(engagement))
    return answer
