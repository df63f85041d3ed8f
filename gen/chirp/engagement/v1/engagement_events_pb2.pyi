import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TweetLiked(_message.Message):
    __slots__ = ("actor_user_id", "tweet_id", "tweet_author_id", "occurred_at")
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    TWEET_AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    actor_user_id: int
    tweet_id: int
    tweet_author_id: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, actor_user_id: _Optional[int] = ..., tweet_id: _Optional[int] = ..., tweet_author_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TweetUnliked(_message.Message):
    __slots__ = ("actor_user_id", "tweet_id", "tweet_author_id", "occurred_at")
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    TWEET_AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    actor_user_id: int
    tweet_id: int
    tweet_author_id: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, actor_user_id: _Optional[int] = ..., tweet_id: _Optional[int] = ..., tweet_author_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TweetRetweeted(_message.Message):
    __slots__ = ("actor_user_id", "tweet_id", "tweet_author_id", "occurred_at")
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    TWEET_AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    actor_user_id: int
    tweet_id: int
    tweet_author_id: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, actor_user_id: _Optional[int] = ..., tweet_id: _Optional[int] = ..., tweet_author_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TweetUnretweeted(_message.Message):
    __slots__ = ("actor_user_id", "tweet_id", "tweet_author_id", "occurred_at")
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TWEET_ID_FIELD_NUMBER: _ClassVar[int]
    TWEET_AUTHOR_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    actor_user_id: int
    tweet_id: int
    tweet_author_id: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, actor_user_id: _Optional[int] = ..., tweet_id: _Optional[int] = ..., tweet_author_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
