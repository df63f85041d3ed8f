"""SearchService: converts between the contract's messages and the searches (tweet_search, user_search,
hashtag_search); errors come from those as kit errors."""

from __future__ import annotations

from chirp.search.v1 import search_service_pb2 as pb
from chirp.search.v1 import search_service_pb2_grpc

from services.kit.identity import current_user_id
from services.kit.server import Context
from services.search.hashtag_search import HashtagSearch
from services.search.tweet_index import Order
from services.search.tweet_search import TweetSearch
from services.search.user_search import UserSearch

__all__ = ["SearchService"]


class SearchService(search_service_pb2_grpc.SearchServiceServicer):
    def __init__(self, *, tweets: TweetSearch, users: UserSearch, hashtags: HashtagSearch) -> None:
        self._tweets = tweets
        self._users = users
        self._hashtags = hashtags

    async def SearchTweets(self, request: pb.SearchTweetsRequest, context: Context) -> pb.SearchTweetsResponse:
        order = Order.TOP if request.order == pb.SEARCH_ORDER_TOP else Order.LATEST
        page = await self._tweets.search(
            request.q,
            order=order,
            page_size=request.page_size,
            page_token=request.page_token,
            viewer_id=current_user_id(),
        )
        return pb.SearchTweetsResponse(tweets=page.tweets, next_page_token=page.next_page_token)

    async def SearchUsers(self, request: pb.SearchUsersRequest, context: Context) -> pb.SearchUsersResponse:
        page = await self._users.search(
            request.q, page_size=request.page_size, page_token=request.page_token, viewer_id=current_user_id()
        )
        return pb.SearchUsersResponse(users=page.users, next_page_token=page.next_page_token)

    async def SearchHashtags(self, request: pb.SearchHashtagsRequest, context: Context) -> pb.SearchHashtagsResponse:
        page = await self._hashtags.search(request.q, page_size=request.page_size, page_token=request.page_token)
        return pb.SearchHashtagsResponse(hashtags=page.hashtags, next_page_token=page.next_page_token)
