from __future__ import annotations

import pytest
from chirp.user.v1.user_pb2 import Relationship

from services.graph.model import Relation
from services.graph.public import can_see, check_can_see
from services.kit import errors

OWNER = 1
VIEWER = 2


@pytest.mark.parametrize(
    ("viewer", "protected", "relationship", "visible"),
    [
        (None, False, None, True),  # anyone sees a public account
        (None, True, None, False),  # nobody anonymous sees a protected one
        (VIEWER, False, Relationship(), True),
        (VIEWER, True, Relationship(), False),
        (VIEWER, True, Relationship(follow_requested=True), False),  # asked, not yet approved
        (VIEWER, True, Relationship(following=True), True),  # approved follower
        (VIEWER, False, Relationship(blocking=True), False),  # the viewer blocked the owner
        (VIEWER, False, Relationship(blocked_by=True), False),  # the owner blocked the viewer
        (VIEWER, True, Relationship(following=True, blocked_by=True), False),
        (VIEWER, False, Relationship(muting=True), True),  # mutes hide from timelines, not from reads
        (OWNER, True, Relationship(), True),  # the owner always sees their own
    ],
)
def test_can_see(viewer: int | None, protected: bool, relationship: Relationship | None, visible: bool) -> None:
    assert can_see(viewer, owner_id=OWNER, owner_protected=protected, relationship=relationship) is visible


@pytest.mark.parametrize(
    ("viewer", "protected", "relationship", "reason"),
    [
        (None, True, None, "ACCOUNT_PROTECTED"),
        (VIEWER, True, Relation(follow_requested=True), "ACCOUNT_PROTECTED"),
        (VIEWER, False, Relation(blocked_by=True), "BLOCKED"),
        (VIEWER, True, Relation(blocking=True), "BLOCKED"),  # the block, not the protection, is what hides it
        (VIEWER, True, Relation(following=True), None),
        (OWNER, True, None, None),
    ],
)
def test_check_can_see_names_what_hides_the_account(
    viewer: int | None, protected: bool, relationship: Relation | None, reason: str | None
) -> None:
    if reason is None:
        check_can_see(viewer, owner_id=OWNER, owner_protected=protected, relationship=relationship)
        return
    with pytest.raises(errors.PermissionDenied) as caught:
        check_can_see(viewer, owner_id=OWNER, owner_protected=protected, relationship=relationship)
    assert caught.value.reason == reason
