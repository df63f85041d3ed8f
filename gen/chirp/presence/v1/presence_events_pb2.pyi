import datetime

from chirp.presence.v1 import presence_pb2 as _presence_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PresenceChanged(_message.Message):
    __slots__ = ("user_id", "previous_state", "state", "occurred_at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    previous_state: _presence_pb2.PresenceState
    state: _presence_pb2.PresenceState
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[int] = ..., previous_state: _Optional[_Union[_presence_pb2.PresenceState, str]] = ..., state: _Optional[_Union[_presence_pb2.PresenceState, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
