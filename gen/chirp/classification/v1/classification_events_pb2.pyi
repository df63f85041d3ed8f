import datetime

from chirp.classification.v1 import classification_pb2 as _classification_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserClassChanged(_message.Message):
    __slots__ = ("user_id", "previous_class", "user_class", "occurred_at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CLASS_FIELD_NUMBER: _ClassVar[int]
    USER_CLASS_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    previous_class: _classification_pb2.UserClass
    user_class: _classification_pb2.UserClass
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[int] = ..., previous_class: _Optional[_Union[_classification_pb2.UserClass, str]] = ..., user_class: _Optional[_Union[_classification_pb2.UserClass, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
