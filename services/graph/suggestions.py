"""Who to follow: friends of friends, ranked, minus the accounts that do not want to be suggested.

The store ranks the candidates (see `GraphStore.suggestions`); whether an account is discoverable is the user
service's setting, so candidates are filtered after the ranking and a page is topped up from the next
candidates until it is full. The page token is the rank of the last candidate looked at — (mutual followees,
followers, id), a total order — so pages follow one another without repeats even when some are filtered out.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from services.graph.model import Candidate
from services.graph.store import GraphStore
from services.kit import errors

__all__ = ["FOLLOWEE_SAMPLE", "Profile", "decode_token", "encode_token", "suggest"]

# The caller's most recent followees that count: bounds the join for users who follow very many accounts.
FOLLOWEE_SAMPLE = 1000
# Rounds of topping up a page whose candidates were not discoverable, before answering a short page.
_MAX_ROUNDS = 4
_TOKEN = re.compile(r"([0-9]{1,10})\.([0-9]{1,10})\.([0-9]{1,19})")
_INT64_MAX = 2**63 - 1


class Profile(Protocol):
    """The part of a user profile (`chirp.user.v1.User`) the filter reads."""

    @property
    def id(self) -> int: ...

    @property
    def discoverable(self) -> bool: ...


P = TypeVar("P", bound=Profile)


def encode_token(last: Candidate) -> str:
    return f"{last.mutual}.{last.followers}.{last.user_id}"


def decode_token(token: str) -> Candidate | None:
    """The candidate a page token continues after; None for the first page. Raises INVALID_PAGE_TOKEN."""
    if not token:
        return None
    match = _TOKEN.fullmatch(token)
    if match is None or any(int(part) > _INT64_MAX for part in match.groups()):
        raise errors.InvalidArgument(
            "INVALID_PAGE_TOKEN", "page_token is not one this API returned", field="page_token"
        )
    mutual, followers, user_id = (int(part) for part in match.groups())
    return Candidate(user_id=user_id, mutual=mutual, followers=followers)


async def suggest(
    store: GraphStore,
    user_id: int,
    *,
    after: Candidate | None,
    size: int,
    profiles: Callable[[list[int]], Awaitable[Sequence[P]]],
) -> tuple[list[P], str]:
    """One page of suggestions for `user_id` and the token of the next ("" at the end).

    `profiles` fetches the candidates' profiles (unknown ids left out); only discoverable ones are kept.
    """
    page: list[P] = []
    cursor = after
    for _ in range(_MAX_ROUNDS):
        # Ask for a little more than is missing: most candidates are usually discoverable.
        limit = size - len(page) + 5
        batch = await store.suggestions(user_id, after=cursor, limit=limit, followee_sample=FOLLOWEE_SAMPLE)
        exhausted = len(batch) < limit
        found = {p.id: p for p in await profiles([c.user_id for c in batch])} if batch else {}
        for n, candidate in enumerate(batch, start=1):
            cursor = candidate
            profile = found.get(candidate.user_id)
            if profile is not None and profile.discoverable:
                page.append(profile)
                if len(page) == size:
                    return page, "" if exhausted and n == len(batch) else encode_token(candidate)
        if exhausted:
            return page, ""  # every candidate has been looked at
    return page, encode_token(cursor) if cursor is not None else ""
