"""Page sizes and page tokens, the same way on every list RPC.

A page token is the id the next page starts after (Snowflake ids and user ids are ordered), written as a
decimal string: opaque to clients by contract, trivial to debug for us.
"""

from __future__ import annotations

from services.kit.errors import InvalidArgument

__all__ = ["DEFAULT_PAGE_SIZE", "next_token", "page_size", "parse_token"]

DEFAULT_PAGE_SIZE = 20


def page_size(requested: int, *, default: int = DEFAULT_PAGE_SIZE) -> int:
    """The contract validates the upper bound; 0 means the default."""
    return requested or default


def parse_token(token: str) -> int | None:
    """The cursor a page token carries, None for the first page. Raises InvalidArgument INVALID_PAGE_TOKEN."""
    if not token:
        return None
    # ASCII digits only (str.isdigit also accepts "²"), and within int64, which is what the stores hold.
    if not (token.isascii() and token.isdigit() and len(token) <= 19 and int(token) < 2**63):
        raise InvalidArgument("INVALID_PAGE_TOKEN", "page_token is not one this API returned", field="page_token")
    return int(token)


def next_token(ids: list[int], *, size: int) -> str:
    """The token for the page after `ids`, or "" when `ids` was the last (short) page."""
    return str(ids[-1]) if len(ids) >= size and ids else ""
