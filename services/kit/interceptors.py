"""The one grpc.aio server interceptor every Chirp service runs. Around each call, outermost first:

1. tracing    an OpenTelemetry SERVER span named for the method, parented by the caller's `traceparent`
2. metrics    `grpc_server_handled_total{grpc_service,grpc_method,grpc_code}` and a latency histogram
3. errors     ChirpError → its status with rich details; anything unexpected → INTERNAL, logged, nothing leaked
4. identity   `x-chirp-user-id` → `current_user_id()` for the call
5. validation protovalidate rules of the request message → INVALID_ARGUMENT with a BadRequest per field

Why one interceptor written out rather than a chain (opentelemetry-instrumentation-grpc's, then one per
concern, as it was): grpc.aio asks every interceptor for the method's handler on every call, and each link
wrapped it anew and ran its part in an async context manager. That cost a no-op RPC ~280 µs of server CPU
on top of grpc.aio's own ~290 µs (`python -m bench.rpc_overhead`), paid in every process a request crosses.
Here the wrapped handler is built once per method, and a call is one try/except/finally.

A grpc.aio interceptor cannot see a call's request or outcome: it only returns the handler for the method, so
it returns a copy of the handler whose behaviour runs inside `_Call`. Unary and streaming requests, unary and
streaming (async-generator) responses are all wrapped. Streaming handlers must `yield` their responses; the
`context.write` style is not supported.

Health and reflection RPCs pass through untouched: supervisors poll them constantly and they are not ours.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import Token
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

import grpc
from google.protobuf.message import DecodeError, Message
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter, Histogram

from services.kit import identity
from services.kit.errors import ChirpError, InvalidArgument, status_for, to_status
from services.kit.failures import dependency_down as _dependency_down
from services.kit.validation import Validator

if TYPE_CHECKING:
    from buf.validate import validate_pb2

__all__ = ["KitInterceptor", "field_path", "server_interceptors"]

log = logging.getLogger(__name__)

_INFRASTRUCTURE = ("/grpc.health.v1.Health/", "/grpc.reflection.")

# Strings: grpc's classes are generic only to the type checker.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
ServicerContext: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


def server_interceptors(service: str) -> list[grpc.aio.ServerInterceptor]:
    """The kit's interceptors for `service`, in the order the server must apply them."""
    return [KitInterceptor(service)]


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

# A server span's status, by the OpenTelemetry semantic conventions for gRPC: only these codes are the
# server's failure; the others (NOT_FOUND, INVALID_ARGUMENT, …) answered the caller as designed.
_SERVER_ERRORS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)


class KitInterceptor(grpc.aio.ServerInterceptor):
    """Tracing, metrics, errors, identity and validation around every RPC of one service."""

    def __init__(self, service: str) -> None:
        self.domain = f"chirp.{service}"
        self.validator = Validator()  # reused: it compiles each message type's rules once
        self.tracer = trace.get_tracer(__name__)
        self._methods: dict[str, tuple[Handler, Handler]] = {}  # method → (its handler, the wrapped copy)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(_INFRASTRUCTURE):
            return handler
        known = self._methods.get(method)
        if known is None or known[0] is not handler:
            known = (handler, _wrap(handler, _Method(self, method)))
            self._methods[method] = known
        return known[1]


class _Method:
    """What is kept per method: its names, metric series and span attributes."""

    def __init__(self, kit: KitInterceptor, method: str) -> None:
        service, _, name = method.lstrip("/").partition("/")
        self.kit = kit
        self.method = method
        self.attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
        self.latency = _LATENCY.labels(service, name)
        self.handled = {code: _HANDLED.labels(service, name, code.name) for code in grpc.StatusCode}


class _Call:
    """One call: `_Call(method, context)` starts it (span, clock), `enter(request)` before the handler,
    `fail(exc)` when it raises, `exit()` always."""

    __slots__ = ("_context", "_identity", "_method", "_span", "_start", "_trace", "_user_value")

    def __init__(self, method: _Method, context: ServicerContext) -> None:
        self._method = method
        self._context = context
        self._start = time.perf_counter()
        self._identity: Token[int | None] | None = None
        self._user_value: str | bytes | None = None
        carrier: dict[str, str] = {}
        for key, value in context.invocation_metadata() or ():
            if key == identity.USER_ID_HEADER:
                self._user_value = value
            elif key in _TRACE_HEADERS and isinstance(value, str):
                carrier[key] = value
        parent = propagate.extract(carrier) if carrier else None
        self._span = method.kit.tracer.start_span(
            method.method, context=parent, kind=SpanKind.SERVER, attributes=method.attributes
        )
        self._trace = otel_context.attach(trace.set_span_in_context(self._span, parent))

    def enter(self, request: Any) -> None:
        """Identity, then validation; raises ChirpError for a garbled identity or an invalid request."""
        self._identity = identity.enter(identity.parse_user_id(self._user_value))
        if isinstance(request, _Undecodable):
            raise InvalidArgument(request.reason, request.message)
        if isinstance(request, Message):
            pairs = self._method.kit.validator.violations(request)
            if pairs:
                summary = "; ".join(f"{path}: {text}" if path else text for path, text in pairs)
                raise InvalidArgument(
                    "INVALID_ARGUMENT", f"invalid {request.DESCRIPTOR.name}: {summary}", violations=pairs
                )

    async def fail(self, exc: BaseException) -> NoReturn:
        """Answer what the handler raised with the status the caller sees (see `errors` for the wire form)."""
        context, domain = self._context, self._method.kit.domain
        if isinstance(exc, (asyncio.CancelledError, grpc.aio.AbortError)) or not isinstance(exc, Exception):
            raise exc  # a cancelled call, or a handler that aborted with a status of its own choosing
        if isinstance(exc, ChirpError):
            await _abort(context, to_status(exc, domain=domain))
        if isinstance(exc, grpc.aio.AioRpcError) and exc.code() in _CALLERS_FAULT:
            # A dependency refused what the caller asked for (a taken username, an unknown user): the caller
            # sees that status and its details as they are, with the dependency's ErrorInfo domain.
            await context.abort(exc.code(), exc.details() or "", _status_details(exc))
        if isinstance(exc, NotImplementedError):
            await _abort(context, status_for(
                grpc.StatusCode.UNIMPLEMENTED, "UNIMPLEMENTED", f"{self._method.method} is not implemented",
                domain=domain,
            ))  # fmt: skip
        self._span.record_exception(exc)
        ref = _reference()
        if _dependency_down(exc):
            log.warning("%s failed: a dependency is unavailable (%s: %s)", self._method.method, type(exc).__name__, exc)
            status = status_for(
                grpc.StatusCode.UNAVAILABLE, "DEPENDENCY_UNAVAILABLE",
                f"a dependency is unavailable; try again (ref {ref})", domain=domain,
            )  # fmt: skip
        else:
            # The traceback goes to the log only: exception text may hold data the caller must not see.
            log.exception(
                "%s failed with an unexpected %s (ref %s)", self._method.method, type(exc).__name__, ref, exc_info=exc
            )
            status = status_for(grpc.StatusCode.INTERNAL, "INTERNAL", f"internal error (ref {ref})", domain=domain)
        await _abort(context, status)

    def exit(self, *, cancelled: bool = False) -> None:
        code = grpc.StatusCode.CANCELLED if cancelled else (self._context.code() or grpc.StatusCode.OK)
        self._method.handled[code].inc()
        self._method.latency.observe(time.perf_counter() - self._start)
        span = self._span
        if span.is_recording():
            span.set_attribute("rpc.grpc.status_code", code.value[0])
            if code in _SERVER_ERRORS:
                span.set_status(Status(StatusCode.ERROR, f"{code.name}"))
        span.end()
        if self._identity is not None:
            identity.leave(self._identity)
        otel_context.detach(self._trace)


_TRACE_HEADERS = frozenset(propagate.get_global_textmap().fields)


def _wrap(handler: Handler, method: _Method) -> Handler:
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

        async def streaming(request: Any, context: ServicerContext) -> AsyncIterator[Any]:
            this = _Call(method, context)
            cancelled = False
            try:
                this.enter(request)
                async for response in call(request, context):
                    yield response
            except asyncio.CancelledError:
                cancelled = True
                raise
            except BaseException as exc:
                await this.fail(exc)
            finally:
                this.exit(cancelled=cancelled)

        wrapped = streaming
    else:
        # A plain function is, in practice, the generated servicer's default for an RPC the service did not
        # implement: it sets UNIMPLEMENTED and raises NotImplementedError at once.
        is_coroutine = inspect.iscoroutinefunction(call)

        async def unary(request: Any, context: ServicerContext) -> Any:
            this = _Call(method, context)
            cancelled = False
            try:
                this.enter(request)
                return (await call(request, context)) if is_coroutine else call(request, context)
            except asyncio.CancelledError:
                cancelled = True
                raise
            except BaseException as exc:
                await this.fail(exc)
            finally:
                this.exit(cancelled=cancelled)

        wrapped = unary
    return factory(
        wrapped,
        request_deserializer=_lenient(handler.request_deserializer),
        response_serializer=handler.response_serializer,
    )


class _Undecodable:
    """What a request that cannot be parsed is handed to the handler as, so that `enter` refuses it in words."""

    __slots__ = ("message", "reason")

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.message = message


def _lenient(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """`deserializer`, but a request it cannot parse becomes an `_Undecodable` instead of an exception.

    grpc.aio answers a deserializer's exception with UNKNOWN and the exception's class in the message
    ("Unexpected <class 'google.protobuf.message.DecodeError'>"), which the edge turns into a 500. The usual
    cause is a REST path or query parameter that percent-decodes to bytes that are not UTF-8: the transcoder
    puts them in a string field as they are, and protobuf refuses the string. That is the client's mistake.
    """
    if deserializer is None:
        return None

    def decode(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError as exc:
            if "UTF-8" in str(exc):
                return _Undecodable(
                    "INVALID_UTF8",
                    "a text field of the request is not valid UTF-8 (percent-encoded bytes in a path or query "
                    "parameter must encode UTF-8 text)",
                )
            return _Undecodable("MALFORMED_REQUEST", "the request body is not a valid protobuf message")

    return decode


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


def _reference() -> str:
    """The current trace id, which finds the log lines of the failure; a random id when there is no span."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else uuid.uuid4().hex


async def _abort(context: grpc.aio.ServicerContext[Any, Any], status: grpc.Status) -> NoReturn:
    # Through `abort` (not abort_with_status): `context.code()` then tells metrics and the span the code.
    await context.abort(status.code, status.details, status.trailing_metadata)


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
