import datetime

from chirp.media.v1 import media_pb2 as _media_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MediaProcessed(_message.Message):
    __slots__ = ("media_id", "owner_id", "status", "occurred_at")
    MEDIA_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    media_id: int
    owner_id: int
    status: _media_pb2.MediaStatus
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, media_id: _Optional[int] = ..., owner_id: _Optional[int] = ..., status: _Optional[_Union[_media_pb2.MediaStatus, str]] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
