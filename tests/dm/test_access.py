"""The access rules of direct messages, as a table: relationship, policy and acceptance give allowed or why not."""

from __future__ import annotations

import pytest
from chirp.dm.v1 import dm_pb2
from chirp.user.v1.user_pb2 import Relationship

from services.dm.access import BLOCKED, NOT_ALLOWED, refusal, refused_because

EVERYONE = dm_pb2.MESSAGE_POLICY_EVERYONE
FOLLOWING = dm_pb2.MESSAGE_POLICY_FOLLOWING


@pytest.mark.parametrize(
    ("relationship", "policy", "accepted", "expected"),
    [
        (Relationship(), EVERYONE, False, None),
        (Relationship(), FOLLOWING, False, NOT_ALLOWED),
        # "People I follow" is the recipient following the sender: seen from the sender, followed_by.
        (Relationship(followed_by=True), FOLLOWING, False, None),
        (Relationship(following=True), FOLLOWING, False, NOT_ALLOWED),
        (Relationship(), FOLLOWING, True, None),  # the recipient accepted the conversation
        (Relationship(blocking=True), EVERYONE, False, BLOCKED),
        (Relationship(blocked_by=True), EVERYONE, False, BLOCKED),
        (Relationship(blocked_by=True, followed_by=True), FOLLOWING, True, BLOCKED),  # blocks always apply
        (Relationship(), dm_pb2.MESSAGE_POLICY_UNSPECIFIED, False, None),
    ],
)
def test_who_may_message_whom(relationship: Relationship, policy: int, accepted: bool, expected: str | None) -> None:
    assert refused_because(relationship, policy=policy, accepted=accepted) == expected


@pytest.mark.parametrize("reason", [BLOCKED, NOT_ALLOWED])
def test_refusals_name_the_user(reason: str) -> None:
    error = refusal(reason, "bob")
    assert error.reason == reason
    assert error.metadata == {"username": "bob"}
    assert "@bob" in error.message
