"""Page tokens of ListNotifications: the kit's cursor (the id the next page starts below), bound to the caller
and the `types` filter by a short check, so that a token used by someone else or with other types is refused
as INVALID_PAGE_TOKEN, as the contract says, instead of quietly paging another list.

The check is a plain hash, not a signature: a token is not a secret and grants nothing (a caller only ever
reads their own notifications), it only has to catch a token handed to the wrong list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence

from services.kit import paging
from services.kit.errors import InvalidArgument
from services.notification.model import Kind

__all__ = ["next_token", "parse_token"]


def _check(cursor: int, caller: int, kinds: Collection[Kind]) -> str:
    key = f"{caller}/{','.join(str(int(k)) for k in sorted(kinds))}/{cursor}"
    return hashlib.blake2b(key.encode(), digest_size=5).hexdigest()


def next_token(ids: Sequence[int], *, size: int, caller: int, kinds: Collection[Kind]) -> str:
    """The token for the page after `ids` (the stored page), or "" when it was the last."""
    cursor = paging.next_token(list(ids), size=size)
    return f"{cursor}.{_check(int(cursor), caller, kinds)}" if cursor else ""


def parse_token(token: str, *, caller: int, kinds: Collection[Kind]) -> int | None:
    """The cursor of `token`, None for the first page; InvalidArgument INVALID_PAGE_TOKEN if it is not one we
    issued for this caller and these types."""
    if not token:
        return None
    cursor_text, _, check = token.partition(".")
    cursor = paging.parse_token(cursor_text) if cursor_text else None
    if cursor is None or check != _check(cursor, caller, kinds):
        raise InvalidArgument(
            "INVALID_PAGE_TOKEN", "page_token is not one this API returned for this list", field="page_token"
        )
    return cursor
