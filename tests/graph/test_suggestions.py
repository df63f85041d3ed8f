"""Suggestion pages: tokens, and topping a page up past candidates that are not discoverable."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from services.graph import suggestions
from services.graph.model import Candidate
from services.graph.store import GraphStore
from services.kit import errors

ME, FRIEND = 1, 2


@dataclass(frozen=True)
class User:
    id: int
    discoverable: bool


async def _world(store: GraphStore, candidates: int) -> None:
    """ME follows FRIEND, who follows candidates 100, 101, … (all tied on rank but for their id)."""
    async with store.writing() as w:
        await w.add_follow(ME, FRIEND, follow_id=1, at=0)
        for n in range(candidates):
            await w.add_follow(FRIEND, 100 + n, follow_id=10 + n, at=0)


def _profiles(hidden: set[int]) -> Callable[[list[int]], Awaitable[list[User]]]:
    async def fetch(ids: list[int]) -> list[User]:
        return [User(i, i not in hidden) for i in ids]

    return fetch


def test_tokens_round_trip() -> None:
    last = Candidate(user_id=2**63 - 1, mutual=12, followers=3456)
    assert suggestions.decode_token(suggestions.encode_token(last)) == last
    assert suggestions.decode_token("") is None


@pytest.mark.parametrize(
    "token",
    [
        "1.2",
        "1.2.3.4",
        "a.b.c",
        "1.2.-3",
        "1.2.9223372036854775808",
        " 1.2.3",
        "1.2.3\n",
        "\u0661.\u0662.\u0663",
        "1.2.³",
    ],
)
def test_tokens_not_issued_are_refused(token: str) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        suggestions.decode_token(token)
    assert caught.value.reason == "INVALID_PAGE_TOKEN"


async def test_a_page_is_topped_up_past_hidden_candidates(store: GraphStore) -> None:
    await _world(store, 30)
    hidden = set(range(100, 120))  # the 20 best are not discoverable
    page, token = await suggestions.suggest(store, ME, after=None, size=3, profiles=_profiles(hidden))
    assert [u.id for u in page] == [120, 121, 122]
    rest, end = await suggestions.suggest(
        store, ME, after=suggestions.decode_token(token), size=100, profiles=_profiles(hidden)
    )
    assert [u.id for u in rest] == list(range(123, 130))
    assert end == ""


async def test_a_page_of_only_hidden_candidates_stops_and_can_continue(store: GraphStore) -> None:
    await _world(store, 60)
    hidden = set(range(100, 159))  # all but the last
    page, token = await suggestions.suggest(store, ME, after=None, size=2, profiles=_profiles(hidden))
    assert page == []  # a short (here empty) page: the rounds ran out
    assert token
    found: list[int] = []
    while token:
        page, token = await suggestions.suggest(
            store, ME, after=suggestions.decode_token(token), size=2, profiles=_profiles(hidden)
        )
        found += [u.id for u in page]
    assert found == [159]


async def test_the_last_full_page_says_it_is_the_last(store: GraphStore) -> None:
    await _world(store, 2)
    page, token = await suggestions.suggest(store, ME, after=None, size=2, profiles=_profiles(set()))
    assert [u.id for u in page] == [100, 101]
    assert token == ""
