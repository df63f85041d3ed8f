from buf.validate import validate_pb2 as _validate_pb2
from chirp.engagement.v1 import engagement_pb2 as _engagement_pb2
from chirp.tweet.v1 import tweet_pb2 as _tweet_pb2
from chirp.user.v1 import user_pb2 as _user_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LikeTweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class UnlikeTweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class RetweetTweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class UnretweetTweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class BookmarkTweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class UnbookmarkTweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class ListLikersRequest(_message.Message):
    __slots__ = ("tweet_id", "page_size", "page_token")
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    page_size: int
    page_token: str
    def __init__(self, tweet_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLikersResponse(_message.Message):
    __slots__ = ("users", "next_page_token")
    USERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[_user_pb2.User]
    next_page_token: str
    def __init__(self, users: _Optional[_Iterable[_Union[_user_pb2.User, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListRetweetersRequest(_message.Message):
    __slots__ = ("tweet_id", "page_size", "page_token")
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    page_size: int
    page_token: str
    def __init__(self, tweet_id: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRetweetersResponse(_message.Message):
    __slots__ = ("users", "next_page_token")
    USERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[_user_pb2.User]
    next_page_token: str
    def __init__(self, users: _Optional[_Iterable[_Union[_user_pb2.User, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListBookmarksRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBookmarksResponse(_message.Message):
    __slots__ = ("tweets", "next_page_token")
    TWEETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tweets: _containers.RepeatedCompositeFieldContainer[_tweet_pb2.Tweet]
    next_page_token: str
    def __init__(self, tweets: _Optional[_Iterable[_Union[_tweet_pb2.Tweet, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class BatchGetEngagementRequest(_message.Message):
    __slots__ = ("tweet_ids",)
    TWEET_IDS_FIELD_NUMBER: _ClassVar[int]
    tweet_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, tweet_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class BatchGetEngagementResponse(_message.Message):
    __slots__ = ("engagements",)
    ENGAGEMENTS_FIELD_NUMBER: _ClassVar[int]
    engagements: _containers.RepeatedCompositeFieldContainer[_engagement_pb2.TweetEngagement]
    def __init__(self, engagements: _Optional[_Iterable[_Union[_engagement_pb2.TweetEngagement, _Mapping]]] = ...) -> None: ...
