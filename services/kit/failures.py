"""Telling a dependency's outage from a failure of our own.

    if dependency_down(exc): ...   # the caller may retry: an RPC answers UNAVAILABLE, an event waits and is redelivered

Both the server interceptor (a request answered 503 rather than 500) and event consumers (an event retried for
as long as the outage lasts rather than dead-lettered) ask the same question, so they share this one list.
"""

from __future__ import annotations

import sqlite3

import grpc
import httpx
import nats.errors
import redis.exceptions

from services.kit.errors import ChirpError

__all__ = ["DEPENDENCY_DOWN", "dependency_down", "describe"]

# Exceptions that mean a server we talk to is unreachable, restarting or too slow right now.
DEPENDENCY_DOWN: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    nats.errors.TimeoutError,
    nats.errors.NoServersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    httpx.TimeoutException,
    httpx.NetworkError,  # could not connect, or the connection broke
    httpx.RemoteProtocolError,  # the server went away in the middle of an answer
    ConnectionError,  # refused, reset, broken pipe on a socket of our own
    TimeoutError,  # asyncio.wait_for around a call to something that did not answer
)
_DOWN_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def dependency_down(exc: BaseException) -> bool:
    """Whether `exc` says that something we depend on is unavailable, rather than that this work is wrong.

    Besides the exceptions above: a gRPC call (or a ChirpError) with UNAVAILABLE or DEADLINE_EXCEEDED, SQLite's
    busy timeout running out behind another writer, an exception raised `from` one of these, and an exception
    group all of whose members are.
    """
    if isinstance(exc, DEPENDENCY_DOWN):
        return True
    if isinstance(exc, grpc.aio.AioRpcError):
        return exc.code() in _DOWN_CODES
    if isinstance(exc, ChirpError):
        return exc.code in _DOWN_CODES
    if isinstance(exc, sqlite3.OperationalError):
        return "locked" in str(exc)
    if isinstance(exc, BaseExceptionGroup):
        return all(dependency_down(e) for e in exc.exceptions)
    # `raise LookupFailed(...) from exc`: a wrapper says what failed, its cause says why.
    return exc.__cause__ is not None and dependency_down(exc.__cause__)


def describe(exc: BaseException) -> str:
    """`Type: message` on one line, for a log line or a header; a gRPC error as its status code and details."""
    if isinstance(exc, grpc.aio.AioRpcError):
        text = f"{exc.code().name}: {exc.details() or ''}"  # its str() is a multi-line dump
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())
