"""The graph's domain types: what the store answers and the domain rules work on, free of protobuf."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NO_RELATION", "Candidate", "Edge", "Relation"]


@dataclass(frozen=True, slots=True)
class Relation:
    """How one user (the source, usually the viewer) relates to another (the target), from the source's side.

    The same six flags as `chirp.user.v1.Relationship`, which the servicer converts it to.
    """

    following: bool = False
    followed_by: bool = False
    follow_requested: bool = False
    blocking: bool = False
    blocked_by: bool = False
    muting: bool = False


NO_RELATION = Relation()


@dataclass(frozen=True, slots=True)
class Edge:
    """One entry of a newest-first list (followers, followees, follow requests): the other user, and the
    Snowflake id of the follow or request, which orders the list and is its page cursor."""

    user_id: int
    edge_id: int


@dataclass(frozen=True, slots=True)
class Candidate:
    """A who-to-follow candidate and its rank: how many of the viewer's followees follow it, then its follower
    count, then its id (ascending) as the tie-break that makes the order total, so pages never overlap."""

    user_id: int
    mutual: int
    followers: int
