from __future__ import annotations

import pytest
from chirp.user.v1.user_pb2 import Relationship

from services.graph.visibility import can_see

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
