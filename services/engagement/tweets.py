"""The tweet service as engagement needs it, always called as the current caller (the mesh forwards them).

Engagements apply to original tweets that the caller may see: the tweet service decides what is visible, so
the original is read through it, and what it refuses is answered in this service's own terms.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from chirp.tweet.v1 import tweet_pb2, tweet_service_pb2, tweet_service_pb2_grpc

from services.kit import errors
from services.kit.errors import error_details

__all__ = ["Tweets"]


class Tweets:
    def __init__(self, stub: tweet_service_pb2_grpc.TweetServiceStub) -> None:
        self._stub = stub

    async def original(self, tweet_id: int) -> tweet_pb2.Tweet:
        """The tweet `tweet_id` addresses — for a retweet row, the tweet it retweets — hydrated for the caller.

        Raises NotFound TWEET_NOT_FOUND if it does not exist or the caller may not see it.
        """
        try:
            tweet: tweet_pb2.Tweet = await self._stub.GetTweet(tweet_service_pb2.GetTweetRequest(tweet_id=tweet_id))
        except grpc.aio.AioRpcError as exc:
            raise _refused(exc, tweet_id) from exc
        if tweet.HasField("retweeted_tweet"):
            original: tweet_pb2.Tweet = tweet.retweeted_tweet
            return original
        if not tweet.text:
            # A retweet row without its original: the caller may see the retweeter but not the author. Every
            # other tweet has text (the tweet service refuses empty ones), so this is the only empty kind.
            raise _not_found(tweet_id)
        return tweet

    async def visible(self, tweet_ids: Sequence[int]) -> list[tweet_pb2.Tweet]:
        """The tweets the caller may see, hydrated, in the order given; the others (and deleted ones) left out."""
        if not tweet_ids:
            return []
        answer = await self._stub.BatchGetTweets(tweet_service_pb2.BatchGetTweetsRequest(tweet_ids=tweet_ids))
        return list(answer.tweets)

    async def create_retweet(self, tweet_id: int) -> int:
        """Makes (or finds) the caller's retweet row of the original `tweet_id`; answers the row's id.

        Raises PermissionDenied (e.g. ACCOUNT_PROTECTED) and NotFound as the tweet service refuses.
        """
        try:
            answer = await self._stub.CreateRetweet(tweet_service_pb2.CreateRetweetRequest(tweet_id=tweet_id))
        except grpc.aio.AioRpcError as exc:
            raise _refused(exc, tweet_id) from exc
        retweet_id: int = answer.retweet.id
        return retweet_id

    async def delete_retweet(self, tweet_id: int) -> None:
        """Deletes the caller's retweet row of the original `tweet_id`, if there is one."""
        try:
            await self._stub.DeleteRetweet(tweet_service_pb2.DeleteRetweetRequest(tweet_id=tweet_id))
        except grpc.aio.AioRpcError as exc:
            raise _refused(exc, tweet_id) from exc


def _not_found(tweet_id: int) -> errors.NotFound:
    return errors.NotFound("TWEET_NOT_FOUND", f"tweet {tweet_id} does not exist")


def _refused(exc: grpc.aio.AioRpcError, tweet_id: int) -> Exception:
    """The tweet service's refusal as this service's error (domain chirp.engagement); other failures as they are."""
    code = exc.code()
    if code == grpc.StatusCode.NOT_FOUND:
        return _not_found(tweet_id)
    if code == grpc.StatusCode.PERMISSION_DENIED:
        details = error_details(exc)
        return errors.PermissionDenied(details.reason or "PERMISSION_DENIED", details.message)
    return exc
