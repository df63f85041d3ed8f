import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MediaStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEDIA_STATUS_UNSPECIFIED: _ClassVar[MediaStatus]
    MEDIA_STATUS_PROCESSING: _ClassVar[MediaStatus]
    MEDIA_STATUS_READY: _ClassVar[MediaStatus]
    MEDIA_STATUS_FAILED: _ClassVar[MediaStatus]
MEDIA_STATUS_UNSPECIFIED: MediaStatus
MEDIA_STATUS_PROCESSING: MediaStatus
MEDIA_STATUS_READY: MediaStatus
MEDIA_STATUS_FAILED: MediaStatus

class Media(_message.Message):
    __slots__ = ("id", "owner_id", "status", "content_type", "url", "thumbnail_url", "width", "height", "size_bytes", "created_at", "url_expires_at", "failure_reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    THUMBNAIL_URL_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    URL_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    id: int
    owner_id: int
    status: MediaStatus
    content_type: str
    url: str
    thumbnail_url: str
    width: int
    height: int
    size_bytes: int
    created_at: _timestamp_pb2.Timestamp
    url_expires_at: _timestamp_pb2.Timestamp
    failure_reason: str
    def __init__(self, id: _Optional[int] = ..., owner_id: _Optional[int] = ..., status: _Optional[_Union[MediaStatus, str]] = ..., content_type: _Optional[str] = ..., url: _Optional[str] = ..., thumbnail_url: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., size_bytes: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., url_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., failure_reason: _Optional[str] = ...) -> None: ...
