"""Who may message whom: the rules of the contract, as plain functions of a relationship and a setting.

A user may start a conversation with someone, add them to a group, or send to them in a direct conversation,
when neither blocks the other and the other's MessagePolicy allows it: EVERYONE, or FOLLOWING and the other
follows the sender. In a direct conversation the policy no longer applies once the other has accepted it (they
started it or have sent a message in it); blocks always do.
"""

from __future__ import annotations

from typing import Protocol

from chirp.dm.v1 import dm_pb2

from services.kit import errors

__all__ = ["BLOCKED", "DEFAULT_POLICY", "NOT_ALLOWED", "RelationshipLike", "refusal", "refused_because"]

DEFAULT_POLICY = dm_pb2.MESSAGE_POLICY_EVERYONE
BLOCKED = "BLOCKED"
NOT_ALLOWED = "MESSAGES_NOT_ALLOWED"


class RelationshipLike(Protocol):
    """The sender's relationship to the recipient (a `chirp.user.v1.Relationship`)."""

    @property
    def followed_by(self) -> bool: ...

    @property
    def blocking(self) -> bool: ...

    @property
    def blocked_by(self) -> bool: ...


def refused_because(relationship: RelationshipLike, *, policy: int, accepted: bool = False) -> str | None:
    """Why the sender may not message the recipient (BLOCKED, MESSAGES_NOT_ALLOWED), or None if they may.

    `relationship` is the sender's to the recipient, `policy` the recipient's MessagePolicy, `accepted` whether
    the recipient started the conversation or has sent a message in it.
    """
    if relationship.blocking or relationship.blocked_by:
        return BLOCKED
    if policy == dm_pb2.MESSAGE_POLICY_FOLLOWING and not (relationship.followed_by or accepted):
        return NOT_ALLOWED
    return None


def refusal(reason: str, username: str) -> errors.PermissionDenied:
    """The error for `refused_because`'s answer about @username (named in the ErrorInfo metadata)."""
    metadata = {"username": username}
    if reason == BLOCKED:
        # Like the graph service, the message does not say who blocks whom.
        return errors.PermissionDenied(
            BLOCKED, f"a block between you and @{username} prevents messages", metadata=metadata
        )
    return errors.PermissionDenied(
        NOT_ALLOWED, f"@{username} accepts messages only from people they follow", metadata=metadata
    )
