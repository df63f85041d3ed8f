"""What counts as a dependency's outage (retried for as long as it lasts) and what as a failure of our own."""

from __future__ import annotations

import sqlite3

import grpc
import httpx
import nats.errors
import pytest
import redis.exceptions

from services.kit.errors import InvalidArgument, Unavailable
from services.kit.failures import dependency_down


def _rpc(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), "details")


class LookupFailed(Exception):
    """A domain wrapper, as a store or client raises `from` the failure underneath."""


def _wrapped(cause: BaseException) -> LookupFailed:
    try:
        raise LookupFailed("could not look the followers up") from cause
    except LookupFailed as exc:
        return exc


@pytest.mark.parametrize(
    "exc",
    [
        _rpc(grpc.StatusCode.UNAVAILABLE),
        _rpc(grpc.StatusCode.DEADLINE_EXCEEDED),
        redis.exceptions.ConnectionError("Connection refused"),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
        nats.errors.TimeoutError(),
        nats.errors.NoServersError(),
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        sqlite3.OperationalError("database is locked"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        Unavailable("GRAPH_UNAVAILABLE", "the graph is restarting"),
        _wrapped(_rpc(grpc.StatusCode.UNAVAILABLE)),
        ExceptionGroup("both lookups", [_rpc(grpc.StatusCode.UNAVAILABLE), TimeoutError()]),
    ],
    ids=repr,
)
def test_outages(exc: BaseException) -> None:
    assert dependency_down(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("breaks an invariant"),
        KeyError("missing"),
        _rpc(grpc.StatusCode.INVALID_ARGUMENT),
        _rpc(grpc.StatusCode.INTERNAL),
        _rpc(grpc.StatusCode.NOT_FOUND),
        InvalidArgument("BAD", "no"),
        sqlite3.OperationalError("no such table: tweets"),
        sqlite3.IntegrityError("UNIQUE constraint failed"),
        redis.exceptions.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
        httpx.UnsupportedProtocol("no scheme"),
        _wrapped(ValueError("bad data")),
        ExceptionGroup("mixed", [_rpc(grpc.StatusCode.UNAVAILABLE), ValueError("bad data")]),
    ],
    ids=repr,
)
def test_failures_of_our_own(exc: BaseException) -> None:
    assert not dependency_down(exc)
