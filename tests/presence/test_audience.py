"""Who may see a user's presence: the rule as a table."""

from __future__ import annotations

import grpc
import pytest
from chirp.user.v1 import user_pb2

from services.kit.errors import ChirpError
from services.presence.audience import check_may_see

VIEWER, OWNER = 1, 2


def _rel(*flags: str) -> user_pb2.Relationship:
    return user_pb2.Relationship(**dict.fromkeys(flags, True))


# (protected, the viewer's relationship to the owner, the answer: None = allowed, else (code, reason))
CASES = [
    (False, _rel(), None),
    (False, _rel("muting"), None),  # mutes hide from timelines and notifications only
    (False, _rel("followed_by"), None),
    (False, _rel("blocking"), (grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")),
    (False, _rel("blocked_by"), (grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")),
    (True, _rel("following"), None),
    (True, _rel(), (grpc.StatusCode.PERMISSION_DENIED, "ACCOUNT_PROTECTED")),
    (True, _rel("follow_requested"), (grpc.StatusCode.PERMISSION_DENIED, "ACCOUNT_PROTECTED")),
    (True, _rel("followed_by"), (grpc.StatusCode.PERMISSION_DENIED, "ACCOUNT_PROTECTED")),
    # A block beats everything, also on a protected account: nothing says the account is even there.
    (True, _rel("blocked_by"), (grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")),
    (True, _rel("following", "blocking"), (grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND")),
]


@pytest.mark.parametrize(("protected", "relationship", "expected"), CASES)
def test_the_rule(
    protected: bool, relationship: user_pb2.Relationship, expected: tuple[grpc.StatusCode, str] | None
) -> None:
    def check() -> None:
        check_may_see(VIEWER, owner_id=OWNER, owner_protected=protected, relationship=relationship, username="Someone")

    if expected is None:
        check()
        return
    with pytest.raises(ChirpError) as caught:
        check()
    assert (caught.value.code, caught.value.reason) == expected


def test_a_block_reads_exactly_like_a_username_of_no_user() -> None:
    with pytest.raises(ChirpError) as caught:
        check_may_see(VIEWER, owner_id=OWNER, owner_protected=False, relationship=_rel("blocked_by"), username="Bob")
    assert caught.value.message == "there is no user @Bob"  # services.user.public's words for a missing user


@pytest.mark.parametrize("protected", [False, True])
def test_users_always_see_their_own_presence(protected: bool) -> None:
    check_may_see(OWNER, owner_id=OWNER, owner_protected=protected, relationship=None, username="Me")
