"""Who may see whom: the one rule every read path applies (tweets, timelines, lists, likers, search).

A viewer sees a user's content when neither blocks the other and, if the account is protected, the viewer
is an approved follower (or the owner). Mutes are not part of it: muting hides a user from the muter's home
timeline and notifications only, and visiting the muted user's profile still shows their tweets.
"""

from __future__ import annotations

from chirp.user.v1 import user_pb2

__all__ = ["can_see", "hidden_by_block"]


def hidden_by_block(relationship: user_pb2.Relationship) -> bool:
    return relationship.blocking or relationship.blocked_by


def can_see(
    viewer_id: int | None, *, owner_id: int, owner_protected: bool, relationship: user_pb2.Relationship | None
) -> bool:
    """May `viewer_id` (None: anonymous) see what `owner_id` posted? `relationship` is the viewer's to the owner."""
    if viewer_id is not None and viewer_id == owner_id:
        return True
    if viewer_id is None or relationship is None:
        return not owner_protected
    if hidden_by_block(relationship):
        return False
    return not owner_protected or relationship.following
