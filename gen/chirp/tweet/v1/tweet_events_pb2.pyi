import datetime

from chirp.tweet.v1 import tweet_pb2 as _tweet_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TweetCreated(_message.Message):
    __slots__ = ("tweet_id", "author_id", "author_protected", "text", "reply_to_tweet_id", "reply_to_user_id", "conversation_id", "quote_tweet_id", "quote_tweet_author_id", "retweeted_tweet_id", "retweeted_tweet_author_id", "entities", "media_ids", "created_at", "occurred_at")
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_PROTECTED_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_USER_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_TWEET_AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    RETWEETED_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    RETWEETED_TWEET_AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    MEDIA_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    author_id: int
    author_protected: bool
    text: str
    reply_to_tweet_id: int
    reply_to_user_id: int
    conversation_id: int
    quote_tweet_id: int
    quote_tweet_author_id: int
    retweeted_tweet_id: int
    retweeted_tweet_author_id: int
    entities: _tweet_pb2.TweetEntities
    media_ids: _containers.RepeatedScalarFieldContainer[int]
    created_at: _timestamp_pb2.Timestamp
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, tweet_id: _Optional[int] = ..., author_id: _Optional[int] = ..., author_protected: _Optional[bool] = ..., text: _Optional[str] = ..., reply_to_tweet_id: _Optional[int] = ..., reply_to_user_id: _Optional[int] = ..., conversation_id: _Optional[int] = ..., quote_tweet_id: _Optional[int] = ..., quote_tweet_author_id: _Optional[int] = ..., retweeted_tweet_id: _Optional[int] = ..., retweeted_tweet_author_id: _Optional[int] = ..., entities: _Optional[_Union[_tweet_pb2.TweetEntities, _Mapping]] = ..., media_ids: _Optional[_Iterable[int]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TweetDeleted(_message.Message):
    __slots__ = ("tweet_id", "author_id", "reply_to_tweet_id", "quote_tweet_id", "retweeted_tweet_id", "hashtags", "occurred_at")
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    RETWEETED_TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    HASHTAGS_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    tweet_id: int
    author_id: int
    reply_to_tweet_id: int
    quote_tweet_id: int
    retweeted_tweet_id: int
    hashtags: _containers.RepeatedScalarFieldContainer[str]
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, tweet_id: _Optional[int] = ..., author_id: _Optional[int] = ..., reply_to_tweet_id: _Optional[int] = ..., quote_tweet_id: _Optional[int] = ..., retweeted_tweet_id: _Optional[int] = ..., hashtags: _Optional[_Iterable[str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
