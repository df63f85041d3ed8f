"""The caller's user id: from `x-chirp-user-id` metadata into the handler, and on to internal calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, wrappers_pb2

from services.kit.errors import error_details
from services.kit.identity import USER_ID_HEADER, acting_as, current_user_id, require_user
from services.kit.server import Runtime
from tests.kit.servers import free_port
from tests.kit.support import SERVICE, call, running, unary


async def _who_am_i(request: empty_pb2.Empty, context: Any) -> wrappers_pb2.Int64Value:
    return wrappers_pb2.Int64Value(value=current_user_id() or 0)


async def _needs_user(request: empty_pb2.Empty, context: Any) -> wrappers_pb2.Int64Value:
    return wrappers_pb2.Int64Value(value=require_user())


class _WhoAmIStub:
    """What a generated stub looks like: built from a channel, one attribute per RPC."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.WhoAmI = channel.unary_unary(
            f"/{SERVICE}/WhoAmI",
            request_serializer=empty_pb2.Empty.SerializeToString,
            response_deserializer=wrappers_pb2.Int64Value.FromString,
        )


def _methods(rt_holder: list[Runtime[Any]]) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
    async def relay(request: empty_pb2.Empty, context: Any) -> wrappers_pb2.Int64Value:
        # An internal call made while handling a request: it goes through the mesh channel.
        answer: wrappers_pb2.Int64Value = await rt_holder[0].stub(_WhoAmIStub).WhoAmI(empty_pb2.Empty())
        return answer

    return {
        "WhoAmI": unary(_who_am_i, empty_pb2.Empty, wrappers_pb2.Int64Value),
        "NeedsUser": unary(_needs_user, empty_pb2.Empty, wrappers_pb2.Int64Value),
        "Relay": unary(relay, empty_pb2.Empty, wrappers_pb2.Int64Value),
    }


async def _serve_self(tmp_path: Path) -> Any:
    # The "mesh" is the server itself here: what matters is what the channel sends, not Envoy's routing.
    port = free_port()
    holder: list[Runtime[Any]] = []

    async def remember(rt: Runtime[Any]) -> None:
        holder.append(rt)

    return running(tmp_path, _methods(holder), setup=remember, grpc_port=port, mesh_addr=f"127.0.0.1:{port}")


async def test_user_id_from_metadata(tmp_path: Path) -> None:
    async with await _serve_self(tmp_path) as (_, channel):
        signed_in = await call(channel, "WhoAmI", empty_pb2.Empty(), wrappers_pb2.Int64Value,
                               metadata=((USER_ID_HEADER, "42"),))  # fmt: skip
        anonymous = await call(channel, "WhoAmI", empty_pb2.Empty(), wrappers_pb2.Int64Value)
        needed = await call(channel, "NeedsUser", empty_pb2.Empty(), wrappers_pb2.Int64Value,
                            metadata=((USER_ID_HEADER, "7"),))  # fmt: skip
    assert (signed_in.value, anonymous.value, needed.value) == (42, 0, 7)


async def test_require_user_rejects_anonymous(tmp_path: Path) -> None:
    async with await _serve_self(tmp_path) as (_, channel):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call(channel, "NeedsUser", empty_pb2.Empty(), wrappers_pb2.Int64Value)
    details = error_details(info.value)
    assert details.code == grpc.StatusCode.UNAUTHENTICATED
    assert details.reason == "AUTHENTICATION_REQUIRED"


@pytest.mark.parametrize("value", ["abc", "-3", "0", "1.5", "99999999999999999999"])
async def test_garbled_header_is_rejected_not_anonymous(tmp_path: Path, value: str) -> None:
    async with await _serve_self(tmp_path) as (_, channel):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call(
                channel, "WhoAmI", empty_pb2.Empty(), wrappers_pb2.Int64Value, metadata=((USER_ID_HEADER, value),)
            )
    details = error_details(info.value)
    assert (details.code, details.reason) == (grpc.StatusCode.UNAUTHENTICATED, "INVALID_IDENTITY")


async def test_internal_calls_carry_the_callers_identity(tmp_path: Path) -> None:
    async with await _serve_self(tmp_path) as (rt, channel):
        relayed = await call(channel, "Relay", empty_pb2.Empty(), wrappers_pb2.Int64Value,
                             metadata=((USER_ID_HEADER, "99"),))  # fmt: skip
        anonymous = await call(channel, "Relay", empty_pb2.Empty(), wrappers_pb2.Int64Value)
        # Outside any request (a worker), acting_as sets who the calls are for.
        with acting_as(5):
            worker = await rt.stub(_WhoAmIStub).WhoAmI(empty_pb2.Empty())
    assert (relayed.value, anonymous.value, worker.value) == (99, 0, 5)
    assert current_user_id() is None, "the identity must not leak out of the block"


async def test_internal_calls_continue_the_trace(tmp_path: Path, spans: Any) -> None:
    async with await _serve_self(tmp_path) as (_, channel):
        await call(channel, "Relay", empty_pb2.Empty(), wrappers_pb2.Int64Value)
    finished = spans.get_finished_spans()
    server = {s.name: s for s in finished if s.kind.name == "SERVER"}
    client = [s for s in finished if s.kind.name == "CLIENT" and s.name == f"/{SERVICE}/WhoAmI"]
    outer, inner = server[f"/{SERVICE}/Relay"], server[f"/{SERVICE}/WhoAmI"]
    assert len(client) == 1
    assert inner.context.trace_id == outer.context.trace_id
    assert client[0].parent.span_id == outer.context.span_id
    assert inner.parent.span_id == client[0].context.span_id
