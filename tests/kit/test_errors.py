"""Domain errors → gRPC status with google.rpc details, through a real server and client."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, wrappers_pb2
from prometheus_client import REGISTRY

from services.kit import errors
from services.kit.errors import ChirpError, error_details
from tests.kit.support import SERVICE, call, running, unary


async def _not_found(request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
    raise errors.NotFound("TWEET_NOT_FOUND", "tweet 42 does not exist", metadata={"tweet_id": "42"})


async def _bad_field(request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
    raise errors.InvalidArgument("TEXT_TOO_LONG", "text is longer than 280 characters", field="text")


async def _many_fields(request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
    raise errors.InvalidArgument(
        "INVALID_PROFILE", "the profile is invalid", violations=[("bio", "too long"), ("display_name", "empty")]
    )


async def _boom(request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
    raise ValueError("password=hunter2 leaked into an exception message")


async def _own_abort(request: empty_pb2.Empty, context: grpc.aio.ServicerContext[Any, Any]) -> empty_pb2.Empty:
    await context.abort(grpc.StatusCode.OUT_OF_RANGE, "chosen by the handler")
    raise AssertionError("abort returned")


async def _dependency_down(request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
    import redis.exceptions

    raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:1")


def _downstream(code: grpc.StatusCode, reason: str) -> grpc.aio.AioRpcError:
    """What a stub call raises when another service answered `code` with our rich details."""
    status = errors.status_for(code, reason, "the user service said no", domain="chirp.user")
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*status.trailing_metadata), status.details)


async def _downstream_refused(request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
    raise _downstream(grpc.StatusCode.ALREADY_EXISTS, "USERNAME_TAKEN")


async def _downstream_down(request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
    raise _downstream(grpc.StatusCode.UNAVAILABLE, "DEPENDENCY_UNAVAILABLE")


async def _downstream_broken(request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
    raise _downstream(grpc.StatusCode.UNIMPLEMENTED, "UNIMPLEMENTED")


async def _ok(request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
    return empty_pb2.Empty()


def _unimplemented(request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
    # What a generated servicer base class does for an RPC the service did not implement.
    context.set_code(grpc.StatusCode.UNIMPLEMENTED)
    context.set_details("Method not implemented!")
    raise NotImplementedError("Method not implemented!")


METHODS = {
    name: unary(fn, empty_pb2.Empty, empty_pb2.Empty)
    for name, fn in {
        "NotFound": _not_found,
        "BadField": _bad_field,
        "ManyFields": _many_fields,
        "Boom": _boom,
        "OwnAbort": _own_abort,
        "DependencyDown": _dependency_down,
        "Ok": _ok,
        "DownstreamRefused": _downstream_refused,
        "DownstreamDown": _downstream_down,
        "DownstreamBroken": _downstream_broken,
        "Unimplemented": _unimplemented,
    }.items()
}


async def _echo(request: wrappers_pb2.StringValue, context: Any) -> wrappers_pb2.StringValue:
    return request


METHODS["Echo"] = unary(_echo, wrappers_pb2.StringValue, wrappers_pb2.StringValue)


async def _fail(channel: grpc.aio.Channel, method: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call(channel, method, empty_pb2.Empty(), empty_pb2.Empty)
    return info.value


async def test_domain_error_carries_reason_domain_and_metadata(tmp_path: Path) -> None:
    async with running(tmp_path, METHODS, service="tweet") as (_, channel):
        exc = await _fail(channel, "NotFound")
    details = error_details(exc)
    assert details.code == grpc.StatusCode.NOT_FOUND
    assert details.message == "tweet 42 does not exist"
    assert (details.reason, details.domain) == ("TWEET_NOT_FOUND", "chirp.tweet")
    assert details.metadata == {"tweet_id": "42"}
    assert details.violations == []


async def test_invalid_field_becomes_a_bad_request_violation(tmp_path: Path) -> None:
    async with running(tmp_path, METHODS) as (_, channel):
        one = error_details(await _fail(channel, "BadField"))
        many = error_details(await _fail(channel, "ManyFields"))
    assert one.code == grpc.StatusCode.INVALID_ARGUMENT
    assert one.reason == "TEXT_TOO_LONG"
    assert one.violations == [("text", "text is longer than 280 characters")]
    assert many.fields == ["bio", "display_name"]
    assert many.violations[0] == ("bio", "too long")


async def test_unexpected_exception_is_internal_without_leaking(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="services.kit.interceptors"):
        async with running(tmp_path, METHODS, service="tweet") as (_, channel):
            exc = await _fail(channel, "Boom")
    details = error_details(exc)
    assert details.code == grpc.StatusCode.INTERNAL
    assert "hunter2" not in (exc.details() or "")
    assert "ValueError" not in (exc.details() or "")
    assert (details.reason, details.domain) == ("INTERNAL", "chirp.tweet")
    ref = (exc.details() or "").removeprefix("internal error (ref ").removesuffix(")")
    assert len(ref) == 32, exc.details()  # the trace id, which finds the logged traceback
    logged = [r for r in caplog.records if ref in r.getMessage()]
    assert logged and logged[0].exc_info is not None, "the traceback must be logged under the same reference"
    assert f"/{SERVICE}/Boom" in logged[0].getMessage()


async def test_handler_abort_passes_through_unchanged(tmp_path: Path) -> None:
    async with running(tmp_path, METHODS) as (_, channel):
        exc = await _fail(channel, "OwnAbort")
    assert exc.code() == grpc.StatusCode.OUT_OF_RANGE
    assert exc.details() == "chosen by the handler"


async def test_dependency_failure_is_unavailable(tmp_path: Path) -> None:
    async with running(tmp_path, METHODS, service="timeline") as (_, channel):
        exc = await _fail(channel, "DependencyDown")
    details = error_details(exc)
    assert details.code == grpc.StatusCode.UNAVAILABLE
    assert (details.reason, details.domain) == ("DEPENDENCY_UNAVAILABLE", "chirp.timeline")
    assert "127.0.0.1" not in details.message


async def test_a_dependency_refusing_the_request_passes_its_status_through(tmp_path: Path) -> None:
    async with running(tmp_path, METHODS, service="auth") as (_, channel):
        exc = await _fail(channel, "DownstreamRefused")
    details = error_details(exc)
    assert details.code == grpc.StatusCode.ALREADY_EXISTS
    assert (details.reason, details.domain) == ("USERNAME_TAKEN", "chirp.user")


async def test_a_dependency_that_is_down_is_unavailable_not_unknown(tmp_path: Path) -> None:
    async with running(tmp_path, METHODS, service="auth") as (_, channel):
        exc = await _fail(channel, "DownstreamDown")
    details = error_details(exc)
    assert details.code == grpc.StatusCode.UNAVAILABLE
    assert (details.reason, details.domain) == ("DEPENDENCY_UNAVAILABLE", "chirp.auth")


async def test_a_dependency_failing_otherwise_is_internal_without_its_message(tmp_path: Path) -> None:
    async with running(tmp_path, METHODS, service="auth") as (_, channel):
        exc = await _fail(channel, "DownstreamBroken")
    assert exc.code() == grpc.StatusCode.INTERNAL
    assert "user service" not in (exc.details() or "")


async def test_unimplemented_default_handler_is_unimplemented(tmp_path: Path) -> None:
    async with running(tmp_path, METHODS) as (_, channel):
        exc = await _fail(channel, "Unimplemented")
    assert exc.code() == grpc.StatusCode.UNIMPLEMENTED
    assert error_details(exc).reason == "UNIMPLEMENTED"


async def test_metrics_count_calls_by_status_code(tmp_path: Path) -> None:
    def count(method: str, code: str) -> float:
        labels = {"grpc_service": SERVICE, "grpc_method": method, "grpc_code": code}
        return REGISTRY.get_sample_value("grpc_server_handled_total", labels) or 0.0

    before_ok, before_nf = count("Ok", "OK"), count("NotFound", "NOT_FOUND")
    async with running(tmp_path, METHODS) as (_, channel):
        await call(channel, "Ok", empty_pb2.Empty(), empty_pb2.Empty)
        await call(channel, "Ok", empty_pb2.Empty(), empty_pb2.Empty)
        await _fail(channel, "NotFound")
    assert count("Ok", "OK") == before_ok + 2
    assert count("NotFound", "NOT_FOUND") == before_nf + 1
    latency = REGISTRY.get_sample_value(
        "grpc_server_handling_seconds_count", {"grpc_service": SERVICE, "grpc_method": "Ok"}
    )
    assert latency is not None and latency >= 2


def test_reason_must_be_upper_snake() -> None:
    with pytest.raises(ValueError, match="UPPER_SNAKE"):
        errors.NotFound("tweetNotFound", "nope")
    with pytest.raises(ValueError):
        ChirpError(grpc.StatusCode.OK, "FINE", "not an error")
    assert errors.Aborted("CONCURRENT_UPDATE", "retry").code == grpc.StatusCode.ABORTED


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        # StringValue.value (field 1, length-delimited) holding the bytes of `%FF%FE%FD`: what the transcoder
        # sends for GET /v1/users/%FF%FE%FD.
        (bytes([0x0A, 3, 0xFF, 0xFE, 0xFD]), "INVALID_UTF8"),
        # A length prefix running past the end of the message.
        (bytes([0x0A, 9, 0x61]), "MALFORMED_REQUEST"),
    ],
)
async def test_a_request_that_cannot_be_decoded_is_invalid_argument_in_words(
    tmp_path: Path, payload: bytes, reason: str
) -> None:
    async with running(tmp_path, METHODS) as (_, channel):
        raw = channel.unary_unary(f"/{SERVICE}/Echo", request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await raw(payload, timeout=10)
        # The same method still answers a well-formed request.
        assert await call(channel, "Echo", wrappers_pb2.StringValue(value="ok"), wrappers_pb2.StringValue)
    details = error_details(info.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.reason == reason
    assert "class" not in details.message and "DecodeError" not in details.message
