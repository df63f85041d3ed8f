"""Page tokens tied to their query, and filling pages when the reader may not see every match."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from services.kit.errors import InvalidArgument
from services.search import pages, tokens


def test_a_token_round_trips_for_its_own_scope_only() -> None:
    token = tokens.encode(1234, scope="tweets:latest:abc")
    assert tokens.decode(token, scope="tweets:latest:abc") == 1234
    assert tokens.decode("", scope="tweets:latest:abc") is None
    with pytest.raises(InvalidArgument) as refused:
        tokens.decode(token, scope="tweets:top:abc")
    assert refused.value.reason == "INVALID_PAGE_TOKEN"
    assert refused.value.violations == [("page_token", refused.value.message)]


@pytest.mark.parametrize(
    "token",
    ["1234", ".", "x.y", "-1.{d}", "1.5.{d}", "².{d}", "99999999999999999999.{d}", "9223372036854775808.{d}", " 1.{d}"],
)
def test_foreign_or_mangled_tokens_are_refused(token: str) -> None:
    digest = tokens.encode(0, scope="s").partition(".")[2]
    with pytest.raises(InvalidArgument, match="page_token"):
        tokens.decode(token.format(d=digest), scope="s")


class Source:
    """Matches 1..n, newest (highest) first; cursors are the last id examined, like newest-first search."""

    def __init__(self, n: int, *, hidden: set[int] = frozenset(), batch: int = 3) -> None:  # type: ignore[assignment]
        self.ids = list(range(n, 0, -1))
        self.hidden = hidden
        self.batch = batch
        self.fetches = 0

    async def fetch(self, cursor: int | None, wanted: int) -> pages.Batch[int]:
        self.fetches += 1
        rest = [i for i in self.ids if cursor is None or i < cursor]
        chunk = rest[: self.batch]
        return pages.Batch([(i, i) for i in chunk], exhausted=len(rest) <= self.batch)

    async def visible(self, hits: Sequence[int]) -> list[bool]:
        return [h not in self.hidden for h in hits]


async def _all_pages(source: Source, size: int, cursor: int | None = None) -> list[list[int]]:
    seen: list[list[int]] = []
    while True:
        page, cursor = await pages.fill(size=size, cursor=cursor, fetch=source.fetch, visible=source.visible)
        seen.append(page)
        if cursor is None:
            return seen


async def test_pages_cover_every_visible_match_once_and_end_exactly() -> None:
    source = Source(10, hidden={9, 5, 4})
    assert await _all_pages(source, size=2) == [[10, 8], [7, 6], [3, 2], [1]]


async def test_a_page_ending_on_the_last_match_has_no_next_token() -> None:
    assert await _all_pages(Source(4), size=2) == [[4, 3], [2, 1]]
    assert await _all_pages(Source(0), size=2) == [[]]


async def test_hidden_matches_are_skipped_by_fetching_more() -> None:
    source = Source(12, hidden={12, 11, 10, 9, 8})
    page, cursor = await pages.fill(size=3, cursor=None, fetch=source.fetch, visible=source.visible)
    assert page == [7, 6, 5] and cursor == 5
    assert source.fetches == 3


async def test_a_page_stays_short_after_max_rounds_and_continues_later() -> None:
    source = Source(30, hidden=set(range(30, 15, -1)))
    page, cursor = await pages.fill(size=2, cursor=None, fetch=source.fetch, visible=source.visible)
    assert page == [] and cursor == 31 - 3 * pages.MAX_ROUNDS  # the last match examined
    assert source.fetches == pages.MAX_ROUNDS
    rest = await _all_pages(source, size=2, cursor=cursor)
    assert [i for p in rest for i in p] == list(range(15, 0, -1))


async def test_windowed_reads_ranked_pages_from_any_position() -> None:
    ranked = list(range(100, 0, -1))  # 100 matches

    async def fetch_page(page: int, per_page: int) -> tuple[list[int], int]:
        return ranked[(page - 1) * per_page : page * per_page], len(ranked)

    batch = await pages.windowed(fetch_page, 25, window=10)
    assert [h for h, _ in batch.hits] == [75, 74, 73, 72, 71] and [c for _, c in batch.hits] == [26, 27, 28, 29, 30]
    assert not batch.exhausted
    last = await pages.windowed(fetch_page, 95, window=10)
    assert [c for _, c in last.hits][-1] == 100 and last.exhausted
    beyond = await pages.windowed(fetch_page, pages.MAX_POSITION, window=10)
    assert beyond.hits == [] and beyond.exhausted
