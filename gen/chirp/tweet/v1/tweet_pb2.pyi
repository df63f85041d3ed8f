import datetime

from chirp.user.v1 import user_pb2 as _user_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Tweet(_message.Message):
    __slots__ = ("id", "author", "text", "created_at", "reply_to_tweet_id", "reply_to_user_id", "conversation_id", "quote_tweet_id", "quoted_tweet", "retweeted_tweet", "entities", "media", "like_count", "retweet_count", "reply_count", "quote_count", "viewer")
    ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_USER_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTED_TWEET_FIELD_NUMBER: _ClassVar[int]
    RETWEETED_TWEET_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    LIKE_COUNT_FIELD_NUMBER: _ClassVar[int]
    RETWEET_COUNT_FIELD_NUMBER: _ClassVar[int]
    REPLY_COUNT_FIELD_NUMBER: _ClassVar[int]
    QUOTE_COUNT_FIELD_NUMBER: _ClassVar[int]
    VIEWER_FIELD_NUMBER: _ClassVar[int]
    id: int
    author: _user_pb2.UserSummary
    text: str
    created_at: _timestamp_pb2.Timestamp
    reply_to_tweet_id: int
    reply_to_user_id: int
    conversation_id: int
    quote_tweet_id: int
    quoted_tweet: Tweet
    retweeted_tweet: Tweet
    entities: TweetEntities
    media: _containers.RepeatedCompositeFieldContainer[MediaAttachment]
    like_count: int
    retweet_count: int
    reply_count: int
    quote_count: int
    viewer: TweetViewerState
    def __init__(self, id: _Optional[int] = ..., author: _Optional[_Union[_user_pb2.UserSummary, _Mapping]] = ..., text: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reply_to_tweet_id: _Optional[int] = ..., reply_to_user_id: _Optional[int] = ..., conversation_id: _Optional[int] = ..., quote_tweet_id: _Optional[int] = ..., quoted_tweet: _Optional[_Union[Tweet, _Mapping]] = ..., retweeted_tweet: _Optional[_Union[Tweet, _Mapping]] = ..., entities: _Optional[_Union[TweetEntities, _Mapping]] = ..., media: _Optional[_Iterable[_Union[MediaAttachment, _Mapping]]] = ..., like_count: _Optional[int] = ..., retweet_count: _Optional[int] = ..., reply_count: _Optional[int] = ..., quote_count: _Optional[int] = ..., viewer: _Optional[_Union[TweetViewerState, _Mapping]] = ...) -> None: ...

class TweetEntities(_message.Message):
    __slots__ = ("hashtags", "mentions", "urls", "cashtags")
    HASHTAGS_FIELD_NUMBER: _ClassVar[int]
    MENTIONS_FIELD_NUMBER: _ClassVar[int]
    URLS_FIELD_NUMBER: _ClassVar[int]
    CASHTAGS_FIELD_NUMBER: _ClassVar[int]
    hashtags: _containers.RepeatedCompositeFieldContainer[HashtagEntity]
    mentions: _containers.RepeatedCompositeFieldContainer[MentionEntity]
    urls: _containers.RepeatedCompositeFieldContainer[UrlEntity]
    cashtags: _containers.RepeatedCompositeFieldContainer[CashtagEntity]
    def __init__(self, hashtags: _Optional[_Iterable[_Union[HashtagEntity, _Mapping]]] = ..., mentions: _Optional[_Iterable[_Union[MentionEntity, _Mapping]]] = ..., urls: _Optional[_Iterable[_Union[UrlEntity, _Mapping]]] = ..., cashtags: _Optional[_Iterable[_Union[CashtagEntity, _Mapping]]] = ...) -> None: ...

class HashtagEntity(_message.Message):
    __slots__ = ("tag", "start", "end")
    TAG_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    tag: str
    start: int
    end: int
    def __init__(self, tag: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class MentionEntity(_message.Message):
    __slots__ = ("user_id", "username", "start", "end")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    username: str
    start: int
    end: int
    def __init__(self, user_id: _Optional[int] = ..., username: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class UrlEntity(_message.Message):
    __slots__ = ("url", "start", "end", "expanded_url")
    URL_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    EXPANDED_URL_FIELD_NUMBER: _ClassVar[int]
    url: str
    start: int
    end: int
    expanded_url: str
    def __init__(self, url: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., expanded_url: _Optional[str] = ...) -> None: ...

class CashtagEntity(_message.Message):
    __slots__ = ("symbol", "start", "end")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    start: int
    end: int
    def __init__(self, symbol: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class MediaAttachment(_message.Message):
    __slots__ = ("media_id", "content_type", "url", "thumbnail_url", "width", "height")
    MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_URL_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    media_id: int
    content_type: str
    url: str
    thumbnail_url: str
    width: int
    height: int
    def __init__(self, media_id: _Optional[int] = ..., content_type: _Optional[str] = ..., url: _Optional[str] = ..., thumbnail_url: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class TweetViewerState(_message.Message):
    __slots__ = ("liked", "retweeted", "bookmarked")
    LIKED_FIELD_NUMBER: _ClassVar[int]
    RETWEETED_FIELD_NUMBER: _ClassVar[int]
    BOOKMARKED_FIELD_NUMBER: _ClassVar[int]
    liked: bool
    retweeted: bool
    bookmarked: bool
    def __init__(self, liked: _Optional[bool] = ..., retweeted: _Optional[bool] = ..., bookmarked: _Optional[bool] = ...) -> None: ...
