"""The graph's public module: what other services may take from the graph domain besides its stub and events.

Who may see whom: the one rule every read path applies (tweets, timelines, lists, likers, search), here so that
every service applies the same rule and none copies it or reaches into the graph's private modules for it
(tests/test_boundaries.py).

A viewer sees a user's content when neither blocks the other and, if the account is protected, the viewer
is an approved follower (or the owner). Mutes are not part of it: muting hides a user from the muter's home
timeline and notifications only, and visiting the muted user's profile still shows their tweets.

The rule takes any relationship-shaped value: a `chirp.user.v1.Relationship` (what other services get from
GetRelationship / BatchGetRelationships) or the graph's own `Relation`.
"""

from __future__ import annotations

from typing import Protocol

from services.kit import errors

__all__ = ["RelationshipLike", "can_see", "check_can_see", "hidden_by_block"]


class RelationshipLike(Protocol):
    @property
    def following(self) -> bool: ...

    @property
    def blocking(self) -> bool: ...

    @property
    def blocked_by(self) -> bool: ...


def hidden_by_block(relationship: RelationshipLike) -> bool:
    return relationship.blocking or relationship.blocked_by


def can_see(
    viewer_id: int | None, *, owner_id: int, owner_protected: bool, relationship: RelationshipLike | None
) -> bool:
    """May `viewer_id` (None: anonymous) see what `owner_id` posted? `relationship` is the viewer's to the owner."""
    if viewer_id is not None and viewer_id == owner_id:
        return True
    if viewer_id is None or relationship is None:
        return not owner_protected
    if hidden_by_block(relationship):
        return False
    return not owner_protected or relationship.following


def check_can_see(
    viewer_id: int | None, *, owner_id: int, owner_protected: bool, relationship: RelationshipLike | None
) -> None:
    """`can_see`, or PERMISSION_DENIED: reason BLOCKED if a block hides the owner, else ACCOUNT_PROTECTED.

    BLOCKED does not say who blocks whom: the viewer knows whether they block the owner, and the user service
    already shows them `blocked_by` on the profile, so nothing is revealed that the viewer cannot see anyway.
    """
    if can_see(viewer_id, owner_id=owner_id, owner_protected=owner_protected, relationship=relationship):
        return
    if viewer_id is not None and relationship is not None and hidden_by_block(relationship):
        raise errors.PermissionDenied("BLOCKED", "a block between you and this user hides their account")
    raise errors.PermissionDenied("ACCOUNT_PROTECTED", "this account is protected: only its approved followers see it")
