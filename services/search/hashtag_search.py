"""Hashtag autocompletion: the hashtags starting with a prefix, the most used first.

Nothing to hide per reader: the counts only ever include public tweets (see hashtag_index).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chirp.search.v1 import search_pb2

from services.search import pages, tokens
from services.search.hashtag_index import HashtagIndex, HashtagMatch, prefix_of

__all__ = ["DEFAULT_PAGE_SIZE", "HashtagPage", "HashtagSearch"]

DEFAULT_PAGE_SIZE = 10
_WINDOW = 100


@dataclass(frozen=True, slots=True)
class HashtagPage:
    hashtags: list[search_pb2.Hashtag]
    next_page_token: str


class HashtagSearch:
    def __init__(self, index: HashtagIndex) -> None:
        self._index = index

    async def search(self, q: str, *, page_size: int, page_token: str) -> HashtagPage:
        prefix = prefix_of(q)
        scope = f"hashtags:{prefix}"
        cursor = tokens.decode(page_token, scope=scope)
        if not prefix:
            return HashtagPage([], "")  # no hashtag starts with what cannot be in one

        async def prefix_page(page: int, per_page: int) -> tuple[list[HashtagMatch], int]:
            return await self._index.prefix(prefix, page=page, per_page=per_page)

        async def fetch(after: int | None, wanted: int) -> pages.Batch[HashtagMatch]:
            return await pages.windowed(prefix_page, after or 0, window=_WINDOW)

        async def visible(hits: Sequence[HashtagMatch]) -> list[bool]:
            return [True] * len(hits)

        picked, next_cursor = await pages.fill(
            size=page_size or DEFAULT_PAGE_SIZE, cursor=cursor, fetch=fetch, visible=visible
        )
        hashtags = [search_pb2.Hashtag(name=m.name, tweet_count=m.tweet_count) for m in picked]
        token = "" if next_cursor is None else tokens.encode(next_cursor, scope=scope)
        return HashtagPage(hashtags, token)
