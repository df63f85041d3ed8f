import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class User(_message.Message):
    __slots__ = ("id", "username", "display_name", "bio", "avatar_url", "protected", "discoverable", "created_at", "follower_count", "following_count", "tweet_count", "relationship", "email")
    ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    BIO_FIELD_NUMBER: _ClassVar[int]
    AVATAR_URL_FIELD_NUMBER: _ClassVar[int]
    PROTECTED_FIELD_NUMBER: _ClassVar[int]
    DISCOVERABLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FOLLOWER_COUNT_FIELD_NUMBER: _ClassVar[int]
    FOLLOWING_COUNT_FIELD_NUMBER: _ClassVar[int]
    TWEET_COUNT_FIELD_NUMBER: _ClassVar[int]
    RELATIONSHIP_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    id: int
    username: str
    display_name: str
    bio: str
    avatar_url: str
    protected: bool
    discoverable: bool
    created_at: _timestamp_pb2.Timestamp
    follower_count: int
    following_count: int
    tweet_count: int
    relationship: Relationship
    email: str
    def __init__(self, id: _Optional[int] = ..., username: _Optional[str] = ..., display_name: _Optional[str] = ..., bio: _Optional[str] = ..., avatar_url: _Optional[str] = ..., protected: _Optional[bool] = ..., discoverable: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., follower_count: _Optional[int] = ..., following_count: _Optional[int] = ..., tweet_count: _Optional[int] = ..., relationship: _Optional[_Union[Relationship, _Mapping]] = ..., email: _Optional[str] = ...) -> None: ...

class UserSummary(_message.Message):
    __slots__ = ("id", "username", "display_name", "avatar_url", "protected")
    ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    AVATAR_URL_FIELD_NUMBER: _ClassVar[int]
    PROTECTED_FIELD_NUMBER: _ClassVar[int]
    id: int
    username: str
    display_name: str
    avatar_url: str
    protected: bool
    def __init__(self, id: _Optional[int] = ..., username: _Optional[str] = ..., display_name: _Optional[str] = ..., avatar_url: _Optional[str] = ..., protected: _Optional[bool] = ...) -> None: ...

class Relationship(_message.Message):
    __slots__ = ("following", "followed_by", "follow_requested", "blocking", "blocked_by", "muting")
    FOLLOWING_FIELD_NUMBER: _ClassVar[int]
    FOLLOWED_BY_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    BLOCKING_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_BY_FIELD_NUMBER: _ClassVar[int]
    MUTING_FIELD_NUMBER: _ClassVar[int]
    following: bool
    followed_by: bool
    follow_requested: bool
    blocking: bool
    blocked_by: bool
    muting: bool
    def __init__(self, following: _Optional[bool] = ..., followed_by: _Optional[bool] = ..., follow_requested: _Optional[bool] = ..., blocking: _Optional[bool] = ..., blocked_by: _Optional[bool] = ..., muting: _Optional[bool] = ...) -> None: ...
