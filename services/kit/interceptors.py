"""The grpc.aio server interceptors every Chirp service runs, outermost first:

1. tracing    OpenTelemetry server span, parented by the caller's `traceparent` metadata
2. metrics    `grpc_server_handled_total{grpc_service,grpc_method,grpc_code}` and a latency histogram
3. errors     ChirpError → its status with rich details; anything unexpected → INTERNAL, logged, nothing leaked
4. identity   `x-chirp-user-id` → `current_user_id()` for the call
5. validation protovalidate rules of the request message → INVALID_ARGUMENT with a BadRequest per field

A grpc.aio interceptor cannot see a call's request or outcome: it only returns the handler for the method. So
each kit interceptor returns a copy of the handler whose behaviour runs inside the interceptor's `around`
async context manager, which sees the request, the context and any exception. Unary and streaming requests,
unary and streaming (async-generator) responses are all wrapped. Streaming handlers must `yield` their
responses: the tracing interceptor iterates them, so the `context.write` style is not supported.

Health and reflection RPCs pass through untouched: supervisors poll them constantly and they are not ours.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

import grpc
import nats.errors
import redis.exceptions
from google.protobuf.message import Message
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import aio_server_interceptor
from opentelemetry.instrumentation.grpc.filters import any_of, health_check, negate, service_prefix
from prometheus_client import Counter, Histogram

from services.kit import identity
from services.kit.errors import ChirpError, InvalidArgument, status_for, to_status
from services.kit.validation import Validator

if TYPE_CHECKING:
    from buf.validate import validate_pb2

__all__ = [
    "ErrorInterceptor",
    "IdentityInterceptor",
    "MetricsInterceptor",
    "ValidationInterceptor",
    "WrappingInterceptor",
    "field_path",
    "server_interceptors",
]

log = logging.getLogger(__name__)

_INFRASTRUCTURE = ("/grpc.health.v1.Health/", "/grpc.reflection.")

Around = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], AbstractAsyncContextManager[None]]


def server_interceptors(service: str) -> list[grpc.aio.ServerInterceptor]:
    """The kit's interceptors for `service`, in the order the server must apply them."""
    tracing: grpc.aio.ServerInterceptor = aio_server_interceptor(  # type: ignore[no-untyped-call]
        filter_=negate(any_of(health_check(), service_prefix("grpc.reflection.")))
    )
    return [
        tracing,
        MetricsInterceptor(),
        ErrorInterceptor(domain=f"chirp.{service}"),
        IdentityInterceptor(),
        ValidationInterceptor(),
    ]


class WrappingInterceptor(grpc.aio.ServerInterceptor):
    """Runs each RPC's behaviour inside `self.around(method, request, context)`. Subclasses define `around`."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(_INFRASTRUCTURE):
            return handler

        def around(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AbstractAsyncContextManager[None]:
            return self.around(method, request, context)

        return _wrap(handler, around)

    def around(
        self, method: str, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AbstractAsyncContextManager[None]:
        raise NotImplementedError


def _wrap(handler: grpc.RpcMethodHandler[Any, Any], around: Around) -> grpc.RpcMethodHandler[Any, Any]:
    if handler.request_streaming and handler.response_streaming:
        behavior, factory = handler.stream_stream, grpc.stream_stream_rpc_method_handler
    elif handler.request_streaming:
        behavior, factory = handler.stream_unary, grpc.stream_unary_rpc_method_handler
    elif handler.response_streaming:
        behavior, factory = handler.unary_stream, grpc.unary_stream_rpc_method_handler
    else:
        behavior, factory = handler.unary_unary, grpc.unary_unary_rpc_method_handler
    assert behavior is not None
    call: Callable[..., Any] = behavior

    # grpc.aio tells the handler kinds apart by function type, so the wrapper must have the wrapped one's.
    wrapped: Callable[..., Any]
    if inspect.isasyncgenfunction(call):

        async def streaming(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            async with around(request, context):
                async for response in call(request, context):
                    yield response

        wrapped = streaming
    elif inspect.iscoroutinefunction(call):

        async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with around(request, context):
                return await call(request, context)

        wrapped = unary
    else:
        # A plain function: in practice the generated servicer's default for an RPC the service did not
        # implement, which sets UNIMPLEMENTED and raises NotImplementedError at once.
        async def plain(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with around(request, context):
                return call(request, context)

        wrapped = plain
    return factory(
        wrapped,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _split(method: str) -> tuple[str, str]:
    service, _, name = method.lstrip("/").partition("/")
    return service, name


_HANDLED = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, by method and status code.",
    ["grpc_service", "grpc_method", "grpc_code"],
)
_LATENCY = Histogram(
    "grpc_server_handling_seconds",
    "Time from receiving an RPC to its status, by method.",
    ["grpc_service", "grpc_method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class MetricsInterceptor(WrappingInterceptor):
    """Counts RPCs by final status code and times them."""

    @asynccontextmanager
    async def around(
        self, method: str, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        service, name = _split(method)
        start = time.perf_counter()
        code = grpc.StatusCode.UNKNOWN
        try:
            yield
            code = context.code() or grpc.StatusCode.OK
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except grpc.aio.AbortError:
            code = context.code() or grpc.StatusCode.UNKNOWN
            raise
        finally:
            _HANDLED.labels(service, name, code.name).inc()
            _LATENCY.labels(service, name).observe(time.perf_counter() - start)


# Failures of a dependency rather than of our code: the caller may retry, and the edge answers 503.
_DEPENDENCY_DOWN: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    nats.errors.TimeoutError,
    nats.errors.NoServersError,
    nats.errors.ConnectionClosedError,
)


class ErrorInterceptor(WrappingInterceptor):
    """Turns what a handler raises into the status the caller sees; see `errors` for the wire form."""

    def __init__(self, *, domain: str) -> None:
        self._domain = domain

    @asynccontextmanager
    async def around(
        self, method: str, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        try:
            yield
        except grpc.aio.AbortError:
            raise  # the handler aborted with a status of its own choosing
        except ChirpError as exc:
            await _abort(context, to_status(exc, domain=self._domain))
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _CALLERS_FAULT:
                # A dependency refused what the caller asked for (a taken username, an unknown user): the
                # caller sees that status and its details as they are, with the dependency's ErrorInfo domain.
                await context.abort(exc.code(), exc.details() or "", _status_details(exc))
            else:
                await self._fail(method, exc, context)
        except NotImplementedError:
            await _abort(context, status_for(
                grpc.StatusCode.UNIMPLEMENTED, "UNIMPLEMENTED", f"{method} is not implemented", domain=self._domain
            ))  # fmt: skip
        except Exception as exc:
            await self._fail(method, exc, context)

    async def _fail(self, method: str, exc: Exception, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        """Answer a failure that is not the caller's: 503 when a dependency is down, else a bare INTERNAL."""
        ref = _reference()
        if _dependency_down(exc):
            log.warning("%s failed: a dependency is unavailable (%s: %s)", method, type(exc).__name__, exc)
            status = status_for(
                grpc.StatusCode.UNAVAILABLE, "DEPENDENCY_UNAVAILABLE",
                f"a dependency is unavailable; try again (ref {ref})", domain=self._domain,
            )  # fmt: skip
        else:
            # The traceback goes to the log only: exception text may hold data the caller must not see.
            log.exception("%s failed with an unexpected %s (ref %s)", method, type(exc).__name__, ref)
            status = status_for(
                grpc.StatusCode.INTERNAL, "INTERNAL", f"internal error (ref {ref})", domain=self._domain
            )
        await _abort(context, status)


# Statuses that say the request was wrong, not the system: safe to pass through from a dependency.
_CALLERS_FAULT = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


def _status_details(exc: grpc.aio.AioRpcError) -> tuple[tuple[str, str | bytes], ...]:
    return tuple((k, v) for k, v in (exc.trailing_metadata() or ()) if k == "grpc-status-details-bin")


def _dependency_down(exc: Exception) -> bool:
    if isinstance(exc, _DEPENDENCY_DOWN):
        return True
    if isinstance(exc, grpc.aio.AioRpcError):
        return exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    # SQLite's busy timeout ran out behind another writer.
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def _reference() -> str:
    """The current trace id, which finds the log lines of the failure; a random id when there is no span."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else uuid.uuid4().hex


async def _abort(context: grpc.aio.ServicerContext[Any, Any], status: grpc.Status) -> None:
    # Through `abort` (not abort_with_status) so the tracing wrapper around the context records the code.
    await context.abort(status.code, status.details, status.trailing_metadata)


class IdentityInterceptor(WrappingInterceptor):
    """Makes `current_user_id()` answer the `x-chirp-user-id` of the call while its handler runs."""

    @asynccontextmanager
    async def around(
        self, method: str, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        value: str | bytes | None = None
        for key, val in context.invocation_metadata() or ():
            if key == identity.USER_ID_HEADER:
                value = val
        with identity.acting_as(identity.parse_user_id(value)):
            yield


class ValidationInterceptor(WrappingInterceptor):
    """Checks each request against its protovalidate rules (see `validation`) before the handler sees it."""

    def __init__(self) -> None:
        self._validator = Validator()  # reused: it compiles each message type's rules once

    @asynccontextmanager
    async def around(
        self, method: str, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        if isinstance(request, Message):
            self._check(request)
        yield

    def _check(self, request: Message) -> None:
        pairs = self._validator.violations(request)
        if not pairs:
            return
        summary = "; ".join(f"{path}: {text}" if path else text for path, text in pairs)
        raise InvalidArgument("INVALID_ARGUMENT", f"invalid {request.DESCRIPTOR.name}: {summary}", violations=pairs)


def field_path(violation: validate_pb2.Violation) -> str:
    """A violation's field as a path a person reads: `author.username`, `media_ids[2]`, `labels["en"]`."""
    out = ""
    for element in violation.field.elements:
        out += f".{element.field_name}" if out else element.field_name
        match element.WhichOneof("subscript"):
            case "index":
                out += f"[{element.index}]"
            case "bool_key":
                out += f"[{str(element.bool_key).lower()}]"
            case "int_key":
                out += f"[{element.int_key}]"
            case "uint_key":
                out += f"[{element.uint_key}]"
            case "string_key":
                out += f"[{json.dumps(element.string_key)}]"
    return out
