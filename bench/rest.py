"""The public REST API as the benchmark's clients use it: register, log in, and the workload's requests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

__all__ = ["PASSWORD", "ApiError", "Reader", "login", "post_tweet", "register"]

PASSWORD = "benchmark passphrase, not secret"
_ATTEMPTS = 5

T = TypeVar("T")


class ApiError(RuntimeError):
    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Reader:
    """A logged-in account the workload acts as."""

    username: str
    user_id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def _json(answer: aiohttp.ClientResponse) -> dict[str, Any]:
    if answer.status != 200:
        text = (await answer.text())[:300]
        raise ApiError(f"{answer.method} {answer.url.path}: HTTP {answer.status}: {text}", status=answer.status)
    body: dict[str, Any] = await answer.json()
    return body


async def _retrying(call: Callable[[], Awaitable[T]]) -> T:
    # A loaded machine answers 503 now and then (a dependency missed its deadline): setting up accounts
    # should ride through that. Registering again after a 503 that did create the account answers 409, which
    # `register` accepts.
    for attempt in range(_ATTEMPTS):
        try:
            return await call()
        except ApiError as exc:
            if exc.status != 503 or attempt == _ATTEMPTS - 1:
                raise
        await asyncio.sleep(0.5 * 2**attempt)
    raise AssertionError("unreachable")


async def register(session: aiohttp.ClientSession, base: str, username: str) -> None:
    """Create an account that can log in; an existing one (a reused seed) is fine."""

    async def once() -> None:
        async with session.post(
            f"{base}/v1/accounts",
            json={"username": username, "email": f"{username}@bench.example.com", "password": PASSWORD},
        ) as answer:
            if answer.status != 409:
                await _json(answer)

    await _retrying(once)


async def login(session: aiohttp.ClientSession, base: str, username: str) -> Reader:
    async def once() -> Reader:
        async with session.post(f"{base}/v1/sessions", json={"login": username, "password": PASSWORD}) as answer:
            body = await _json(answer)
        return Reader(username=username, user_id=int(body["user"]["id"]), token=str(body["access_token"]))

    return await _retrying(once)


async def post_tweet(session: aiohttp.ClientSession, base: str, reader: Reader, text: str) -> int:
    async with session.post(f"{base}/v1/tweets", json={"text": text}, headers=reader.headers) as answer:
        body = await _json(answer)
    return int(body["id"])
