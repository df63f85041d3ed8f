"""Filling a page of search results when some matches are hidden from the reader.

The index cannot know who blocks whom, so a page of matches is checked after it comes back and the hidden ones
dropped; to still answer a full page, more matches are fetched until the page is full, the matches run out,
or `MAX_ROUNDS` fetches were made (then the page is short, and its token continues after the last match
examined — the contract allows short pages).

A cursor says where the next page resumes: for newest-first tweet search the last examined tweet id (stable
while tweets are added), for ranked results the number of matches examined (Typesense pages by offset).
Offsets stop at `MAX_POSITION`: nobody reads that deep, and deeper pages cost Typesense more each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["MAX_POSITION", "MAX_ROUNDS", "Batch", "fill", "windowed"]

MAX_ROUNDS = 4
MAX_POSITION = 5000

H = TypeVar("H")


@dataclass(frozen=True, slots=True)
class Batch(Generic[H]):
    hits: list[tuple[H, int]]  # each match with the cursor that resumes right after it
    exhausted: bool  # no match follows the last one


async def fill(
    *,
    size: int,
    cursor: int | None,
    fetch: Callable[[int | None, int], Awaitable[Batch[H]]],
    visible: Callable[[Sequence[H]], Awaitable[list[bool]]],
) -> tuple[list[H], int | None]:
    """Up to `size` visible matches from `cursor` on, and the cursor of the next page (None at the end).

    `fetch(cursor, wanted)` answers the next matches (about `wanted`, more is fine); `visible(hits)` says which
    of them the reader may see.
    """
    picked: list[H] = []
    for _ in range(MAX_ROUNDS):
        batch = await fetch(cursor, size - len(picked))
        if not batch.hits:
            return picked, None
        shown = await visible([hit for hit, _ in batch.hits])
        for (hit, after), ok in zip(batch.hits, shown, strict=True):
            cursor = after
            if ok:
                picked.append(hit)
                if len(picked) == size:
                    at_end = batch.exhausted and after == batch.hits[-1][1]
                    return picked, None if at_end else cursor
        if batch.exhausted:
            return picked, None
    return picked, cursor


async def windowed(
    fetch_page: Callable[[int, int], Awaitable[tuple[list[H], int]]], position: int, *, window: int
) -> Batch[H]:
    """The matches from `position` on, read as Typesense pages of `window` (`fetch_page(page, per_page)`
    answers a page, from 1, and the number of matches in all); cursors are positions."""
    if position >= MAX_POSITION:
        return Batch([], exhausted=True)
    page = position // window + 1
    hits, found = await fetch_page(page, window)
    start = (page - 1) * window
    entries = [(hit, start + i + 1) for i, hit in enumerate(hits) if start + i >= position]
    end = start + len(hits)
    return Batch(entries, exhausted=not hits or end >= min(found, MAX_POSITION))
