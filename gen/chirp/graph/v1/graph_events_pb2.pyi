import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Followed(_message.Message):
    __slots__ = ("actor_user_id", "target_user_id", "occurred_at")
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_USER_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    actor_user_id: int
    target_user_id: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, actor_user_id: _Optional[int] = ..., target_user_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Unfollowed(_message.Message):
    __slots__ = ("actor_user_id", "target_user_id", "occurred_at")
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_USER_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    actor_user_id: int
    target_user_id: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, actor_user_id: _Optional[int] = ..., target_user_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FollowRequested(_message.Message):
    __slots__ = ("actor_user_id", "target_user_id", "occurred_at")
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_USER_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    actor_user_id: int
    target_user_id: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, actor_user_id: _Optional[int] = ..., target_user_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FollowRequestAccepted(_message.Message):
    __slots__ = ("actor_user_id", "target_user_id", "occurred_at")
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_USER_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    actor_user_id: int
    target_user_id: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, actor_user_id: _Optional[int] = ..., target_user_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FollowRequestRejected(_message.Message):
    __slots__ = ("actor_user_id", "target_user_id", "occurred_at")
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_USER_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    actor_user_id: int
    target_user_id: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, actor_user_id: _Optional[int] = ..., target_user_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FollowRequestCanceled(_message.Message):
    __slots__ = ("actor_user_id", "target_user_id", "occurred_at")
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_USER_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    actor_user_id: int
    target_user_id: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, actor_user_id: _Optional[int] = ..., target_user_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Blocked(_message.Message):
    __slots__ = ("actor_user_id", "target_user_id", "occurred_at")
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_USER_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    actor_user_id: int
    target_user_id: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, actor_user_id: _Optional[int] = ..., target_user_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Unblocked(_message.Message):
    __slots__ = ("actor_user_id", "target_user_id", "occurred_at")
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_USER_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    actor_user_id: int
    target_user_id: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, actor_user_id: _Optional[int] = ..., target_user_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Muted(_message.Message):
    __slots__ = ("actor_user_id", "target_user_id", "occurred_at")
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_USER_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    actor_user_id: int
    target_user_id: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, actor_user_id: _Optional[int] = ..., target_user_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Unmuted(_message.Message):
    __slots__ = ("actor_user_id", "target_user_id", "occurred_at")
    ACTOR_USER_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_USER_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    actor_user_id: int
    target_user_id: int
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, actor_user_id: _Optional[int] = ..., target_user_id: _Optional[int] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
