"""People search: the exact username first, then discoverable users by prefix, most followed first.

Profiles are public, so protected accounts are found like any other; users who block the reader or whom the
reader blocks are not (one BatchGetRelationships per fetched page, through `hidden_by_block`). The answer is
hydrated by the user service, with the reader's relationship to each user filled in from that same call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chirp.user.v1 import user_pb2

from services.graph.public import hidden_by_block
from services.search import pages, tokens
from services.search.peers import Peers
from services.search.user_index import UserHit, UserIndex, prefix_text

__all__ = ["DEFAULT_PAGE_SIZE", "UserPage", "UserSearch"]

DEFAULT_PAGE_SIZE = 20
_WINDOW = 100


@dataclass(frozen=True, slots=True)
class UserPage:
    users: list[user_pb2.User]
    next_page_token: str


class UserSearch:
    def __init__(self, index: UserIndex, peers: Peers) -> None:
        self._index = index
        self._peers = peers

    async def search(self, q: str, *, page_size: int, page_token: str, viewer_id: int | None) -> UserPage:
        username = q.removeprefix("@")
        text = prefix_text(q)
        scope = f"users:{username.lower()}\x1f{text.lower()}"
        cursor = tokens.decode(page_token, scope=scope)
        size = page_size or DEFAULT_PAGE_SIZE
        exact = await self._index.exact(username)
        relationships: dict[int, user_pb2.Relationship] = {}

        async def fetch(after: int | None, wanted: int) -> pages.Batch[UserHit]:
            # Cursors are positions in the prefix matches; the exact match leads the first page only (resuming
            # after it is position 0), and is skipped where it shows up among the prefix matches.
            batch: pages.Batch[UserHit] = pages.Batch([], exhausted=True)
            if text:

                async def prefix_page(page: int, per_page: int) -> tuple[list[UserHit], int]:
                    return await self._index.prefix(text, page=page, per_page=per_page)

                batch = await pages.windowed(prefix_page, after or 0, window=_WINDOW)
            hits = [(h, c) for h, c in batch.hits if exact is None or h.user_id != exact.user_id]
            if after is None and exact is not None:
                hits.insert(0, (exact, 0))
            return pages.Batch(hits, exhausted=batch.exhausted)

        async def visible(hits: Sequence[UserHit]) -> list[bool]:
            if viewer_id is None:
                return [True] * len(hits)
            found = await self._peers.relationships(viewer_id, {h.user_id for h in hits} - {viewer_id})
            relationships.update(found)
            return [
                h.user_id == viewer_id or (h.user_id in found and not hidden_by_block(found[h.user_id])) for h in hits
            ]

        picked, next_cursor = await pages.fill(size=size, cursor=cursor, fetch=fetch, visible=visible)
        users = await self._peers.users([h.user_id for h in picked]) if picked else []
        for user in users:
            if user.id in relationships and user.id != viewer_id:
                user.relationship.CopyFrom(relationships[user.id])
        token = "" if next_cursor is None else tokens.encode(next_cursor, scope=scope)
        return UserPage(users, token)
