"""Page tokens of the search RPCs: a cursor tied to the query it pages through.

A token is `<cursor>.<digest>`, the digest a hash of the query's scope (which RPC, which order, what the query
means). A token from another query, another order or another RPC fails the check and is refused with
INVALID_PAGE_TOKEN instead of silently paging something else. Tokens are not secret: forging one only pages
the forger's own query differently.
"""

from __future__ import annotations

import hashlib

from services.kit.errors import InvalidArgument

__all__ = ["decode", "encode"]

_MAX_CURSOR = 2**63 - 1


def encode(cursor: int, *, scope: str) -> str:
    return f"{cursor}.{_digest(scope)}"


def decode(token: str, *, scope: str) -> int | None:
    """The cursor of `token`, None for the first page (an empty token). Raises InvalidArgument INVALID_PAGE_TOKEN."""
    if not token:
        return None
    cursor, dot, digest = token.partition(".")
    if (
        dot
        and cursor.isascii()
        and cursor.isdigit()
        and len(cursor) <= 19
        and int(cursor) <= _MAX_CURSOR
        and digest == _digest(scope)
    ):
        return int(cursor)
    raise InvalidArgument(
        "INVALID_PAGE_TOKEN", "page_token is not one this API returned for this query", field="page_token"
    )


def _digest(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:12]
