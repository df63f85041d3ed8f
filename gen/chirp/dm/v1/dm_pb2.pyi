import datetime

from buf.validate import validate_pb2 as _validate_pb2
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

class ConversationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONVERSATION_TYPE_UNSPECIFIED: _ClassVar[ConversationType]
    CONVERSATION_TYPE_DIRECT: _ClassVar[ConversationType]
    CONVERSATION_TYPE_GROUP: _ClassVar[ConversationType]

class MessagePolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_POLICY_UNSPECIFIED: _ClassVar[MessagePolicy]
    MESSAGE_POLICY_EVERYONE: _ClassVar[MessagePolicy]
    MESSAGE_POLICY_FOLLOWING: _ClassVar[MessagePolicy]
CONVERSATION_TYPE_UNSPECIFIED: ConversationType
CONVERSATION_TYPE_DIRECT: ConversationType
CONVERSATION_TYPE_GROUP: ConversationType
MESSAGE_POLICY_UNSPECIFIED: MessagePolicy
MESSAGE_POLICY_EVERYONE: MessagePolicy
MESSAGE_POLICY_FOLLOWING: MessagePolicy

class Conversation(_message.Message):
    __slots__ = ("id", "type", "participants", "last_message", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    type: ConversationType
    participants: _containers.RepeatedCompositeFieldContainer[_user_pb2.UserSummary]
    last_message: Message
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., type: _Optional[_Union[ConversationType, str]] = ..., participants: _Optional[_Iterable[_Union[_user_pb2.UserSummary, _Mapping]]] = ..., last_message: _Optional[_Union[Message, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ("id", "conversation_id", "sender_id", "text", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    conversation_id: int
    sender_id: int
    text: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., conversation_id: _Optional[int] = ..., sender_id: _Optional[int] = ..., text: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DmSettings(_message.Message):
    __slots__ = ("allow_messages_from",)
    ALLOW_MESSAGES_FROM_FIELD_NUMBER: _ClassVar[int]
    allow_messages_from: MessagePolicy
    def __init__(self, allow_messages_from: _Optional[_Union[MessagePolicy, str]] = ...) -> None: ...
