"""A small REST client for end-to-end tests: what any HTTP client of the public API would do, nothing more."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

__all__ = [
    "Account",
    "error_info",
    "error_reason",
    "eventually",
    "new_username",
    "register",
    "register_and_login",
    "violated_fields",
]

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


def error_info(body: dict[str, Any]) -> dict[str, Any]:
    """The google.rpc.ErrorInfo detail of a JSON error body ({} when it has none)."""
    infos = [d for d in body.get("details", []) if d["@type"].endswith("google.rpc.ErrorInfo")]
    return infos[0] if infos else {}


def error_reason(body: dict[str, Any]) -> str:
    """The ErrorInfo reason of a JSON error body, e.g. TWEET_NOT_FOUND ("" when it has none)."""
    return str(error_info(body).get("reason", ""))


def violated_fields(body: dict[str, Any]) -> list[str]:
    """The field paths of a JSON error body's google.rpc.BadRequest violations, in order."""
    return [
        v["field"]
        for d in body.get("details", [])
        if d["@type"].endswith("google.rpc.BadRequest")
        for v in d["field_violations"]
    ]
