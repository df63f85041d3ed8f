from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Hashtag(_message.Message):
    __slots__ = ("name", "tweet_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TWEET_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    tweet_count: int
    def __init__(self, name: _Optional[str] = ..., tweet_count: _Optional[int] = ...) -> None: ...
