"""A small REST client for end-to-end tests: what any HTTP client of the public API would do, nothing more."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

__all__ = ["Account", "eventually", "new_username", "register", "register_and_login"]

PASSWORD = "a perfectly fine passphrase"

T = TypeVar("T")


def new_username(prefix: str = "u") -> str:
    """A username no other test uses (the stack is shared by the whole session)."""
    return f"{prefix}{uuid.uuid4().hex[: 14 - len(prefix)]}"


@dataclass(frozen=True)
class Account:
    user: dict[str, Any]
    access_token: str
    refresh_token: str

    @property
    def username(self) -> str:
        return str(self.user["username"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def register(api: httpx.AsyncClient, username: str, *, password: str = PASSWORD) -> dict[str, Any]:
    answer = await api.post(
        "/v1/accounts",
        json={
            "username": username,
            "email": f"{username}@example.com",
            "password": password,
            "display_name": username.title(),
        },
    )
    assert answer.status_code == 200, answer.text
    user: dict[str, Any] = answer.json()
    return user


async def register_and_login(api: httpx.AsyncClient, prefix: str = "u") -> Account:
    username = new_username(prefix)
    await register(api, username)
    answer = await api.post("/v1/sessions", json={"login": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return Account(user=body["user"], access_token=body["access_token"], refresh_token=body["refresh_token"])


async def eventually(check: Callable[[], Awaitable[T | None]], *, within: float, every: float = 0.05) -> T:
    """Poll `check` until it returns something other than None; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(every)
