"""What the OpenAPI generator reads from a FileDescriptorSet: messages, enums and services by full name, and
the comments written above them (the set must be built with source info, or every description is empty)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from google.protobuf import descriptor_pb2

__all__ = ["Index", "Message", "Method", "Service", "has_presence", "is_map", "is_repeated"]

# Field numbers of descriptor.proto that SourceCodeInfo location paths are made of.
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MESSAGE_FIELD, _MESSAGE_NESTED, _MESSAGE_ENUM = 2, 3, 4
_ENUM_VALUE = 2
_SERVICE_METHOD = 2

Field = descriptor_pb2.FieldDescriptorProto


@dataclass(frozen=True, slots=True)
class Message:
    name: str  # full name without the leading dot: chirp.user.v1.User
    proto: descriptor_pb2.DescriptorProto
    proto2: bool  # proto2 singular fields track presence; proto3 ones only when `optional`


@dataclass(frozen=True, slots=True)
class Method:
    name: str  # chirp.tweet.v1.TweetService.CreateTweet
    proto: descriptor_pb2.MethodDescriptorProto


@dataclass(frozen=True, slots=True)
class Service:
    name: str  # chirp.tweet.v1.TweetService
    proto: descriptor_pb2.ServiceDescriptorProto
    methods: tuple[Method, ...]

    @property
    def short_name(self) -> str:
        return self.name.rpartition(".")[2]


class Index:
    """Every message, enum and service of a descriptor set, and their comments, by full name."""

    def __init__(self, files: descriptor_pb2.FileDescriptorSet) -> None:
        self.messages: dict[str, Message] = {}
        self.enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
        self.services: list[Service] = []
        self._comments: dict[str, str] = {}
        for file in files.file:
            self._add(file)

    def message(self, type_name: str) -> Message:
        """The message a field's `type_name` (".chirp.user.v1.User") or a full name names."""
        return self.messages[type_name.lstrip(".")]

    def enum(self, type_name: str) -> descriptor_pb2.EnumDescriptorProto:
        return self.enums[type_name.lstrip(".")]

    def comment(self, name: str) -> str:
        """The comment above (or else after) the element with this full name; fields are `Message.field`, enum
        values `Enum.VALUE`, methods `Service.Method`."""
        return self._comments.get(name, "")

    def map_entry(self, field: Field) -> Message | None:
        """The synthetic entry message of a map field, or None if `field` is not a map."""
        if field.type != Field.TYPE_MESSAGE or field.label != Field.LABEL_REPEATED:
            return None
        entry = self.messages.get(field.type_name.lstrip("."))
        return entry if entry is not None and entry.proto.options.map_entry else None

    def _add(self, file: descriptor_pb2.FileDescriptorProto) -> None:
        symbols: dict[tuple[int, ...], str] = {}
        proto2 = file.syntax in ("", "proto2")
        prefix = f"{file.package}." if file.package else ""
        for path, name, message in _messages(file.message_type, prefix, (_FILE_MESSAGE,)):
            self.messages[name] = Message(name, message, proto2)
            symbols[path] = name
            for i, field in enumerate(message.field):
                symbols[(*path, _MESSAGE_FIELD, i)] = f"{name}.{field.name}"
            for j, enum in enumerate(message.enum_type):
                self._add_enum(enum, f"{name}.", (*path, _MESSAGE_ENUM, j), symbols)
        for j, enum in enumerate(file.enum_type):
            self._add_enum(enum, prefix, (_FILE_ENUM, j), symbols)
        for i, service in enumerate(file.service):
            name = f"{prefix}{service.name}"
            symbols[(_FILE_SERVICE, i)] = name
            methods = []
            for j, method in enumerate(service.method):
                symbols[(_FILE_SERVICE, i, _SERVICE_METHOD, j)] = f"{name}.{method.name}"
                methods.append(Method(f"{name}.{method.name}", method))
            self.services.append(Service(name, service, tuple(methods)))
        for location in file.source_code_info.location:
            symbol = symbols.get(tuple(location.path))
            text = _clean(location.leading_comments or location.trailing_comments)
            if symbol is not None and text:
                self._comments[symbol] = text

    def _add_enum(
        self,
        enum: descriptor_pb2.EnumDescriptorProto,
        prefix: str,
        path: tuple[int, ...],
        symbols: dict[tuple[int, ...], str],
    ) -> None:
        name = f"{prefix}{enum.name}"
        self.enums[name] = enum
        symbols[path] = name
        for k, value in enumerate(enum.value):
            symbols[(*path, _ENUM_VALUE, k)] = f"{name}.{value.name}"


def _messages(
    messages: Sequence[descriptor_pb2.DescriptorProto], prefix: str, path: tuple[int, ...]
) -> Iterator[tuple[tuple[int, ...], str, descriptor_pb2.DescriptorProto]]:
    for i, message in enumerate(messages):
        here, name = (*path, i), f"{prefix}{message.name}"
        yield here, name, message
        yield from _messages(message.nested_type, f"{name}.", (*here, _MESSAGE_NESTED))


def _clean(comment: str) -> str:
    # protoc keeps the space after `//` on every line; the text is Markdown, so line breaks stay.
    lines = [line[1:] if line.startswith(" ") else line for line in comment.splitlines()]
    return "\n".join(line.rstrip() for line in lines).strip()


def is_repeated(field: Field) -> bool:
    return field.label == Field.LABEL_REPEATED


def is_map(index: Index, field: Field) -> bool:
    return index.map_entry(field) is not None


def has_presence(message: Message, field: Field) -> bool:
    """Whether the field can be unset, and so is left out of JSON when it is (always_print_primitive_fields
    prints every other field, defaults included)."""
    if is_repeated(field):
        return False
    return field.type == Field.TYPE_MESSAGE or field.HasField("oneof_index") or message.proto2
