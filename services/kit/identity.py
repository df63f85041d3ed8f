"""Who the current call is for: the user id Envoy vouches for, held in a contextvar for the call's duration.

Envoy's `jwt_authn` verifies the access token at the edge and forwards its subject as `x-chirp-user-id`
(stripping any client-sent copy); services trust the header only because only Envoy can reach them. The
identity interceptor reads it into a contextvar, and the mesh channel forwards it on every internal call made
while handling the request, so a downstream service sees the same caller without threading ids through
function signatures. Workers that act for a user set it with `acting_as(user_id)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

from services.kit.errors import Unauthenticated

__all__ = ["USER_ID_HEADER", "acting_as", "current_user_id", "parse_user_id", "require_user"]

USER_ID_HEADER = "x-chirp-user-id"

_user_id: ContextVar[int | None] = ContextVar("chirp_user_id", default=None)


def current_user_id() -> int | None:
    """The signed-in caller's user id, or None for an anonymous call."""
    return _user_id.get()


def require_user() -> int:
    """The signed-in caller's user id; raises Unauthenticated (AUTHENTICATION_REQUIRED) for anonymous calls."""
    user_id = _user_id.get()
    if user_id is None:
        raise Unauthenticated("AUTHENTICATION_REQUIRED", "this call needs a signed-in user")
    return user_id


def enter(user_id: int | None) -> Token[int | None]:
    """Make `user_id` the current caller until `leave(token)`; for the server interceptor, else `acting_as`."""
    return _user_id.set(user_id)


def leave(token: Token[int | None]) -> None:
    _user_id.reset(token)


@contextmanager
def acting_as(user_id: int | None) -> Iterator[None]:
    """Run the block as `user_id` (None = anonymous): `current_user_id()` and outgoing calls see it."""
    token = _user_id.set(user_id)
    try:
        yield
    finally:
        _user_id.reset(token)


def parse_user_id(value: str | bytes | None) -> int | None:
    """The user id in a header value; None when absent. Raises Unauthenticated (INVALID_IDENTITY) if garbled.

    A garbled value can only come from a misconfigured proxy, so the call fails loudly instead of being
    served as anonymous or as someone else.
    """
    if value is None or value == "":
        return None
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    if not (text.isascii() and text.isdigit()) or int(text) <= 0 or int(text) >= 2**63:
        raise Unauthenticated("INVALID_IDENTITY", f"{USER_ID_HEADER} is not a user id")
    return int(text)
