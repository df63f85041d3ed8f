from buf.validate import validate_pb2 as _validate_pb2
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

class CreateTweetRequest(_message.Message):
    __slots__ = ("text", "reply_to_tweet_id", "quote_tweet_id", "media_ids", "request_id")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIA_IDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    text: str
    reply_to_tweet_id: int
    quote_tweet_id: int
    media_ids: _containers.RepeatedScalarFieldContainer[int]
    request_id: str
    def __init__(self, text: _Optional[str] = ..., reply_to_tweet_id: _Optional[int] = ..., quote_tweet_id: _Optional[int] = ..., media_ids: _Optional[_Iterable[int]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetTweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class DeleteTweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class DeleteTweetResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetTweetContextRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class GetTweetContextResponse(_message.Message):
    __slots__ = ("tweet", "ancestors", "descendants")
    TWEET_FIELD_NUMBER: _ClassVar[int]
    ANCESTORS_FIELD_NUMBER: _ClassVar[int]
    DESCENDANTS_FIELD_NUMBER: _ClassVar[int]
    tweet: _tweet_pb2.Tweet
    ancestors: _containers.RepeatedCompositeFieldContainer[_tweet_pb2.Tweet]
    descendants: _containers.RepeatedCompositeFieldContainer[_tweet_pb2.Tweet]
    def __init__(self, tweet: _Optional[_Union[_tweet_pb2.Tweet, _Mapping]] = ..., ancestors: _Optional[_Iterable[_Union[_tweet_pb2.Tweet, _Mapping]]] = ..., descendants: _Optional[_Iterable[_Union[_tweet_pb2.Tweet, _Mapping]]] = ...) -> None: ...

class ListUserTweetsRequest(_message.Message):
    __slots__ = ("username", "page_size", "page_token")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    username: str
    page_size: int
    page_token: str
    def __init__(self, username: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUserTweetsResponse(_message.Message):
    __slots__ = ("tweets", "next_page_token")
    TWEETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tweets: _containers.RepeatedCompositeFieldContainer[_tweet_pb2.Tweet]
    next_page_token: str
    def __init__(self, tweets: _Optional[_Iterable[_Union[_tweet_pb2.Tweet, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class BatchGetTweetsRequest(_message.Message):
    __slots__ = ("tweet_ids",)
    TWEET_IDS_FIELD_NUMBER: _ClassVar[int]
    tweet_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, tweet_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class BatchGetTweetsResponse(_message.Message):
    __slots__ = ("tweets", "author_relationships")
    class AuthorRelationshipsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: _user_pb2.Relationship
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[_user_pb2.Relationship, _Mapping]] = ...) -> None: ...
    TWEETS_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_RELATIONSHIPS_FIELD_NUMBER: _ClassVar[int]
    tweets: _containers.RepeatedCompositeFieldContainer[_tweet_pb2.Tweet]
    author_relationships: _containers.MessageMap[int, _user_pb2.Relationship]
    def __init__(self, tweets: _Optional[_Iterable[_Union[_tweet_pb2.Tweet, _Mapping]]] = ..., author_relationships: _Optional[_Mapping[int, _user_pb2.Relationship]] = ...) -> None: ...

class CreateRetweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class CreateRetweetResponse(_message.Message):
    __slots__ = ("retweet",)
    RETWEET_FIELD_NUMBER: _ClassVar[int]
    retweet: _tweet_pb2.Tweet
    def __init__(self, retweet: _Optional[_Union[_tweet_pb2.Tweet, _Mapping]] = ...) -> None: ...

class DeleteRetweetRequest(_message.Message):
    __slots__ = ("tweet_id",)
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    def __init__(self, tweet_id: _Optional[int] = ...) -> None: ...

class DeleteRetweetResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAuthorTweetIdsRequest(_message.Message):
    __slots__ = ("author_ids", "max_id", "limit")
    AUTHOR_IDS_FIELD_NUMBER: _ClassVar[int]
    MAX_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    author_ids: _containers.RepeatedScalarFieldContainer[int]
    max_id: int
    limit: int
    def __init__(self, author_ids: _Optional[_Iterable[int]] = ..., max_id: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListAuthorTweetIdsResponse(_message.Message):
    __slots__ = ("tweet_ids",)
    TWEET_IDS_FIELD_NUMBER: _ClassVar[int]
    tweet_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, tweet_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class ScanTweetsRequest(_message.Message):
    __slots__ = ("after_id", "limit")
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    after_id: int
    limit: int
    def __init__(self, after_id: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ScanTweetsResponse(_message.Message):
    __slots__ = ("tweets",)
    TWEETS_FIELD_NUMBER: _ClassVar[int]
    tweets: _containers.RepeatedCompositeFieldContainer[_tweet_pb2.Tweet]
    def __init__(self, tweets: _Optional[_Iterable[_Union[_tweet_pb2.Tweet, _Mapping]]] = ...) -> None: ...
