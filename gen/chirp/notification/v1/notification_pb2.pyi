import datetime

from chirp.tweet.v1 import tweet_pb2 as _tweet_pb2
from chirp.user.v1 import user_pb2 as _user_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NotificationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTIFICATION_TYPE_UNSPECIFIED: _ClassVar[NotificationType]
    NOTIFICATION_TYPE_LIKE: _ClassVar[NotificationType]
    NOTIFICATION_TYPE_RETWEET: _ClassVar[NotificationType]
    NOTIFICATION_TYPE_REPLY: _ClassVar[NotificationType]
    NOTIFICATION_TYPE_QUOTE: _ClassVar[NotificationType]
    NOTIFICATION_TYPE_MENTION: _ClassVar[NotificationType]
    NOTIFICATION_TYPE_FOLLOW: _ClassVar[NotificationType]
    NOTIFICATION_TYPE_FOLLOW_REQUEST: _ClassVar[NotificationType]
    NOTIFICATION_TYPE_DIRECT_MESSAGE: _ClassVar[NotificationType]
NOTIFICATION_TYPE_UNSPECIFIED: NotificationType
NOTIFICATION_TYPE_LIKE: NotificationType
NOTIFICATION_TYPE_RETWEET: NotificationType
NOTIFICATION_TYPE_REPLY: NotificationType
NOTIFICATION_TYPE_QUOTE: NotificationType
NOTIFICATION_TYPE_MENTION: NotificationType
NOTIFICATION_TYPE_FOLLOW: NotificationType
NOTIFICATION_TYPE_FOLLOW_REQUEST: NotificationType
NOTIFICATION_TYPE_DIRECT_MESSAGE: NotificationType

class Notification(_message.Message):
    __slots__ = ("id", "type", "actors", "actor_count", "tweet", "created_at", "updated_at", "read", "summary")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTORS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_COUNT_FIELD_NUMBER: _ClassVar[int]
    TWEET_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    id: int
    type: NotificationType
    actors: _containers.RepeatedCompositeFieldContainer[_user_pb2.UserSummary]
    actor_count: int
    tweet: _tweet_pb2.Tweet
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    read: bool
    summary: str
    def __init__(self, id: _Optional[int] = ..., type: _Optional[_Union[NotificationType, str]] = ..., actors: _Optional[_Iterable[_Union[_user_pb2.UserSummary, _Mapping]]] = ..., actor_count: _Optional[int] = ..., tweet: _Optional[_Union[_tweet_pb2.Tweet, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., read: _Optional[bool] = ..., summary: _Optional[str] = ...) -> None: ...
