"""Domain errors a servicer raises, and their wire form: a gRPC status with `google.rpc.Status` details.

Raise `NotFound("TWEET_NOT_FOUND", "tweet 42 does not exist")` anywhere under a handler; the error interceptor
answers NOT_FOUND with an `ErrorInfo(reason="TWEET_NOT_FOUND", domain="chirp.<service>")` detail, plus a
`BadRequest` with one field violation per invalid field for `InvalidArgument(..., field=...)`. The edge turns
that into JSON with the matching HTTP status. Anything else a handler raises becomes INTERNAL with a generic
message (see interceptors).

Callers of other services read a failed call's details back with `error_details(exc)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

__all__ = [
    "Aborted",
    "AlreadyExists",
    "ChirpError",
    "ErrorDetails",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "error_details",
    "status_for",
    "to_status",
]

_REASON = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")


class ChirpError(Exception):
    """A failure the caller should see as `code`, identified by an UPPER_SNAKE `reason`.

    `message` is for developers and is sent as is: put no secrets in it. `field` (one invalid field) or
    `violations` (`(field path, description)` pairs) add a BadRequest detail; `metadata` adds ErrorInfo
    key/values a client may act on (e.g. {"username": "alice"}).
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        reason: str,
        message: str,
        *,
        field: str | None = None,
        violations: Iterable[tuple[str, str]] = (),
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        if not _REASON.match(reason):
            raise ValueError(f"error reason must be UPPER_SNAKE_CASE, not {reason!r}")
        if code == grpc.StatusCode.OK:
            raise ValueError("an error cannot have status OK")
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.violations: list[tuple[str, str]] = list(violations)
        if field is not None:
            self.violations.insert(0, (field, message))
        self.metadata: dict[str, str] = dict(metadata or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.name}, {self.reason!r}, {self.message!r})"


class _Coded(ChirpError):
    """A ChirpError whose subclass fixes the code: `NotFound(reason, message, *, field=..., metadata=...)`."""

    CODE: ClassVar[grpc.StatusCode]

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        field: str | None = None,
        violations: Iterable[tuple[str, str]] = (),
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(self.CODE, reason, message, field=field, violations=violations, metadata=metadata)


class InvalidArgument(_Coded):
    """The request is malformed, whatever the state (HTTP 400). Name the bad field with `field=`."""

    CODE = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(_Coded):
    """The addressed thing does not exist, or the caller may not know it does (404)."""

    CODE = grpc.StatusCode.NOT_FOUND


class AlreadyExists(_Coded):
    """What the caller tried to create exists already (409)."""

    CODE = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(_Coded):
    """The caller is known but may not do this (403)."""

    CODE = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(_Coded):
    """The call needs a signed-in caller and has none (401)."""

    CODE = grpc.StatusCode.UNAUTHENTICATED


class FailedPrecondition(_Coded):
    """The system is not in the state this call needs; retrying as is will not help (400)."""

    CODE = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(_Coded):
    """A quota or limit is hit (429)."""

    CODE = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(_Coded):
    """A dependency is down or overloaded; the same call may succeed later (503)."""

    CODE = grpc.StatusCode.UNAVAILABLE


class Aborted(_Coded):
    """A concurrent change won; retry the whole read-modify-write (409)."""

    CODE = grpc.StatusCode.ABORTED


def to_status(error: ChirpError, *, domain: str) -> grpc.Status:
    """The gRPC status for `error`: code, message, and the packed google.rpc.Status in trailing metadata."""
    return rpc_status.to_status(_rich_status(error.code, error.message, _details(error, domain)))


def status_for(code: grpc.StatusCode, reason: str, message: str, *, domain: str) -> grpc.Status:
    """A status of any `code` with an ErrorInfo of `reason`; for errors the kit itself decides on."""
    info = error_details_pb2.ErrorInfo(reason=reason, domain=domain)
    return rpc_status.to_status(_rich_status(code, message, [info]))


def _details(error: ChirpError, domain: str) -> list[error_details_pb2.ErrorInfo | error_details_pb2.BadRequest]:
    details: list[error_details_pb2.ErrorInfo | error_details_pb2.BadRequest] = [
        error_details_pb2.ErrorInfo(reason=error.reason, domain=domain, metadata=error.metadata)
    ]
    if error.violations:
        bad = error_details_pb2.BadRequest()
        for path, description in error.violations:
            bad.field_violations.add(field=path, description=description)
        details.append(bad)
    return details


def _rich_status(
    code: grpc.StatusCode,
    message: str,
    details: list[error_details_pb2.ErrorInfo | error_details_pb2.BadRequest],
) -> status_pb2.Status:
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    number: int = code.value[0]
    return status_pb2.Status(code=number, message=message, details=packed)


@dataclass(frozen=True, slots=True)
class ErrorDetails:
    """What a failed call said, decoded: code, message, ErrorInfo reason/domain/metadata, BadRequest fields."""

    code: grpc.StatusCode
    message: str
    reason: str = ""
    domain: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    violations: list[tuple[str, str]] = field(default_factory=list)

    @property
    def fields(self) -> list[str]:
        """The field paths of the BadRequest violations, in order."""
        return [path for path, _ in self.violations]


def error_details(exc: grpc.RpcError) -> ErrorDetails:
    """Decode the rich status of a failed call (`grpc.aio.AioRpcError` or a sync call's error)."""
    call: grpc.Call = exc  # type: ignore[assignment]  # every RpcError raised by a call is also its Call
    code = call.code()
    message = call.details() or ""
    status = rpc_status.from_call(call)
    if status is None:
        return ErrorDetails(code=code, message=message)
    reason, domain, metadata = "", "", {}
    violations: list[tuple[str, str]] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations.extend((v.field, v.description) for v in bad.field_violations)
    return ErrorDetails(code, message, reason, domain, metadata, violations)
