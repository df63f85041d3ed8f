"""TweetService: converts between the contract's messages and the domain (`writing`, `reading`)."""

from __future__ import annotations

from chirp.tweet.v1 import tweet_pb2, tweet_service_pb2, tweet_service_pb2_grpc

from services.kit.identity import current_user_id, require_user
from services.kit.server import Context
from services.tweet.reading import Reader
from services.tweet.scan import TweetScan
from services.tweet.writing import Draft, Writer

__all__ = ["TweetService"]

_DEFAULT_ID_LIMIT = 200


class TweetService(tweet_service_pb2_grpc.TweetServiceServicer):
    def __init__(self, *, writer: Writer, reader: Reader) -> None:
        self._writer = writer
        self._reader = reader

    async def CreateTweet(self, request: tweet_service_pb2.CreateTweetRequest, context: Context) -> tweet_pb2.Tweet:
        author_id = require_user()
        draft = Draft(
            text=request.text,
            reply_to_tweet_id=request.reply_to_tweet_id,
            quote_tweet_id=request.quote_tweet_id,
            media_ids=list(request.media_ids),
            request_id=request.request_id,
        )
        posted = await self._writer.post(author_id, draft)
        return await self._reader.posted(posted, viewer_id=author_id)

    async def GetTweet(self, request: tweet_service_pb2.GetTweetRequest, context: Context) -> tweet_pb2.Tweet:
        return await self._reader.tweet(request.tweet_id, viewer_id=current_user_id())

    async def DeleteTweet(
        self, request: tweet_service_pb2.DeleteTweetRequest, context: Context
    ) -> tweet_service_pb2.DeleteTweetResponse:
        await self._writer.delete(require_user(), request.tweet_id)
        return tweet_service_pb2.DeleteTweetResponse()

    async def GetTweetContext(
        self, request: tweet_service_pb2.GetTweetContextRequest, context: Context
    ) -> tweet_service_pb2.GetTweetContextResponse:
        found = await self._reader.context(request.tweet_id, viewer_id=current_user_id())
        return tweet_service_pb2.GetTweetContextResponse(
            tweet=found.tweet, ancestors=found.ancestors, descendants=found.descendants
        )

    async def ListUserTweets(
        self, request: tweet_service_pb2.ListUserTweetsRequest, context: Context
    ) -> tweet_service_pb2.ListUserTweetsResponse:
        page = await self._reader.user_tweets(
            request.username, viewer_id=current_user_id(), page_size=request.page_size, page_token=request.page_token
        )
        return tweet_service_pb2.ListUserTweetsResponse(tweets=page.tweets, next_page_token=page.next_page_token)

    async def BatchGetTweets(
        self, request: tweet_service_pb2.BatchGetTweetsRequest, context: Context
    ) -> tweet_service_pb2.BatchGetTweetsResponse:
        batch = await self._reader.hydrated(list(request.tweet_ids), viewer_id=current_user_id())
        return tweet_service_pb2.BatchGetTweetsResponse(tweets=batch.tweets, author_relationships=batch.relationships)

    async def CreateRetweet(
        self, request: tweet_service_pb2.CreateRetweetRequest, context: Context
    ) -> tweet_service_pb2.CreateRetweetResponse:
        user_id = require_user()
        posted = await self._writer.retweet(user_id, request.tweet_id)
        return tweet_service_pb2.CreateRetweetResponse(retweet=await self._reader.posted(posted, viewer_id=user_id))

    async def DeleteRetweet(
        self, request: tweet_service_pb2.DeleteRetweetRequest, context: Context
    ) -> tweet_service_pb2.DeleteRetweetResponse:
        await self._writer.unretweet(require_user(), request.tweet_id)
        return tweet_service_pb2.DeleteRetweetResponse()

    async def ListAuthorTweetIds(
        self, request: tweet_service_pb2.ListAuthorTweetIdsRequest, context: Context
    ) -> tweet_service_pb2.ListAuthorTweetIdsResponse:
        ids = await self._reader.author_tweet_ids(
            list(request.author_ids), max_id=request.max_id, limit=request.limit or _DEFAULT_ID_LIMIT
        )
        return tweet_service_pb2.ListAuthorTweetIdsResponse(tweet_ids=ids)

    async def ScanTweets(
        self, request: tweet_service_pb2.ScanTweetsRequest, context: Context
    ) -> tweet_service_pb2.ScanTweetsResponse:
        # Added for the search backfill without touching this service's wiring: the scan reads the reader's
        # store. Once __main__ hands the servicer a TweetScan, use that instead.
        store = self._reader._store
        scan = TweetScan(store._db, store)
        tweets = await scan.page(after_id=request.after_id, limit=request.limit)
        return tweet_service_pb2.ScanTweetsResponse(tweets=tweets)
