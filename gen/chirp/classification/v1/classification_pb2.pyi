import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    USER_CLASS_UNSPECIFIED: _ClassVar[UserClass]
    USER_CLASS_LIVE: _ClassVar[UserClass]
    USER_CLASS_ACTIVE: _ClassVar[UserClass]
    USER_CLASS_PASSIVE: _ClassVar[UserClass]
    USER_CLASS_INACTIVE: _ClassVar[UserClass]
    USER_CLASS_FAMOUS: _ClassVar[UserClass]
USER_CLASS_UNSPECIFIED: UserClass
USER_CLASS_LIVE: UserClass
USER_CLASS_ACTIVE: UserClass
USER_CLASS_PASSIVE: UserClass
USER_CLASS_INACTIVE: UserClass
USER_CLASS_FAMOUS: UserClass

class UserClassification(_message.Message):
    __slots__ = ("user_id", "user_class", "follower_count", "last_active_at", "last_seen_at", "updated_at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_CLASS_FIELD_NUMBER: _ClassVar[int]
    FOLLOWER_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    user_class: UserClass
    follower_count: int
    last_active_at: _timestamp_pb2.Timestamp
    last_seen_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[int] = ..., user_class: _Optional[_Union[UserClass, str]] = ..., follower_count: _Optional[int] = ..., last_active_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
