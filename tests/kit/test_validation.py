"""protovalidate rules of a request message → INVALID_ARGUMENT with a BadRequest violation per field.

The request types are built here at test time (a FileDescriptorProto with buf.validate options), so the test
depends on no chirp contract, only on the generated buf.validate package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from buf.validate import validate_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, empty_pb2, message_factory, wrappers_pb2
from google.protobuf.message import Message

from services.kit.errors import error_details
from tests.kit.support import call, running, stream, unary, unary_stream

_F = descriptor_pb2.FieldDescriptorProto


def _build() -> tuple[type[Message], type[Message]]:
    file = descriptor_pb2.FileDescriptorProto(
        name="kittest/v1/validation.proto",
        package="kittest.v1",
        syntax="proto3",
        dependency=["buf/validate/validate.proto"],
    )
    profile = file.message_type.add(name="Profile")
    name = profile.field.add(name="display_name", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    name.options.Extensions[validate_pb2.field].string.max_len = 5

    request = file.message_type.add(name="CreateRequest")
    username = request.field.add(name="username", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    rules = username.options.Extensions[validate_pb2.field].string
    rules.min_len = 3
    rules.pattern = "^[a-z0-9_]+$"
    request.field.add(
        name="profile", number=2, type=_F.TYPE_MESSAGE, type_name=".kittest.v1.Profile", label=_F.LABEL_OPTIONAL
    )
    tags = request.field.add(name="tag_ids", number=3, type=_F.TYPE_INT64, label=_F.LABEL_REPEATED)
    tags.options.Extensions[validate_pb2.field].repeated.items.int64.gt = 0

    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(file.name)
    except KeyError:
        pool.AddSerializedFile(file.SerializeToString())
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("kittest.v1.CreateRequest")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("kittest.v1.Profile")),
    )


CreateRequest, Profile = _build()
seen: list[Message] = []


async def _create(request: Message, context: Any) -> empty_pb2.Empty:
    seen.append(request)
    return empty_pb2.Empty()


async def _list(request: Message, context: Any) -> Any:
    seen.append(request)
    for i in range(2):
        yield wrappers_pb2.Int64Value(value=i)


METHODS = {
    "Create": unary(_create, CreateRequest, empty_pb2.Empty),
    "List": unary_stream(_list, CreateRequest, wrappers_pb2.Int64Value),
}


async def test_valid_request_reaches_the_handler(tmp_path: Path) -> None:
    seen.clear()
    request = CreateRequest(username="alice", profile=Profile(display_name="Al"), tag_ids=[1, 2])
    async with running(tmp_path, METHODS) as (_, channel):
        await call(channel, "Create", request, empty_pb2.Empty)
        assert [r.value async for r in stream(channel, "List", request, wrappers_pb2.Int64Value)] == [0, 1]
    assert seen == [request, request]


async def test_invalid_request_names_each_field(tmp_path: Path) -> None:
    seen.clear()
    request = CreateRequest(username="al", profile=Profile(display_name="Alexander"), tag_ids=[5, 0])
    async with running(tmp_path, METHODS, service="user") as (_, channel):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call(channel, "Create", request, empty_pb2.Empty)
    details = error_details(info.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert (details.reason, details.domain) == ("INVALID_ARGUMENT", "chirp.user")
    assert sorted(set(details.fields)) == ["profile.display_name", "tag_ids[1]", "username"]
    by_field = dict(details.violations)
    assert "at least 3 characters" in by_field["username"]
    assert "5" in by_field["profile.display_name"]
    assert "greater than 0" in by_field["tag_ids[1]"]
    assert details.message.startswith("invalid CreateRequest: ")
    assert seen == [], "the handler must not run on an invalid request"


async def test_server_streaming_request_is_validated_too(tmp_path: Path) -> None:
    seen.clear()
    async with running(tmp_path, METHODS) as (_, channel):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            [r async for r in stream(channel, "List", CreateRequest(username="x!"), wrappers_pb2.Int64Value)]
    details = error_details(info.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(details.fields) == {"username"}
    assert seen == []
