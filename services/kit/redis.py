"""Redis (Valkey locally): a cache and fast index, never the only copy of anything a user wrote."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis.asyncio
import redis.exceptions

from services.kit.config import StartupError

__all__ = ["connect"]


async def connect(url: str, *, connect_timeout: float = 5.0) -> redis.asyncio.Redis:
    """A client for `url` (bytes in, bytes out), checked with a PING; StartupError naming CHIRP_REDIS_URL if not.

    Close it with `await client.aclose()`.
    """
    client = redis.asyncio.Redis.from_url(
        url,
        decode_responses=False,
        socket_connect_timeout=connect_timeout,
        socket_timeout=connect_timeout,
        health_check_interval=30,
    )
    try:
        await client.ping()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
        await client.aclose()
        raise StartupError(f"CHIRP_REDIS_URL={_redacted(url)}: cannot reach Redis: {exc}") from exc
    except redis.exceptions.ResponseError as exc:  # e.g. a password Redis rejects
        await client.aclose()
        raise StartupError(f"CHIRP_REDIS_URL={_redacted(url)}: Redis refused us: {exc}") from exc
    return client


def _redacted(url: str) -> str:
    """`url` without its password, fit for an error message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))
