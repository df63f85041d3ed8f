"""PATCH /v1/me semantics: which settings an update changes, following its field mask (AIP-134)."""

from __future__ import annotations

from typing import Any

import pytest

from services.user.profile import ProfilePatch, UnknownPath, changes_to, resolve
from services.user.rules import ProfileRuleError
from services.user.store import Profile

PROFILE = Profile(
    id=1, username="alice", email="a@example.com", display_name="Alice", bio="hello", avatar_url="",
    protected=True, discoverable=True, created_at=0.0, follower_count=0, following_count=0, tweet_count=0,
)  # fmt: skip


@pytest.mark.parametrize(
    ("patch", "mask", "expected"),
    [
        # No mask: what was sent, and only that; an empty string or false is a value, not "not sent".
        (ProfilePatch(bio="new"), [], {"bio": "new"}),
        (ProfilePatch(bio="", protected=False), [], {"bio": "", "protected": False}),
        (ProfilePatch(), [], {}),
        # A mask: exactly the listed fields; listed but not sent is reset; sent but not listed is ignored.
        (ProfilePatch(bio="new", display_name="Al"), ["bio"], {"bio": "new"}),
        (ProfilePatch(), ["bio", "protected"], {"bio": "", "protected": False}),
        (ProfilePatch(), ["display_name"], {"display_name": "alice"}),  # the username
        (ProfilePatch(), ["discoverable"], {"discoverable": False}),
        (ProfilePatch(bio="x"), ["bio", "bio"], {"bio": "x"}),
        # Values are cleaned.
        (ProfilePatch(display_name="  Al  ", bio=" hi \r\n"), [], {"display_name": "Al", "bio": "hi"}),
    ],
)
def test_resolve(patch: ProfilePatch, mask: list[str], expected: dict[str, Any]) -> None:
    assert resolve(patch, mask, username="alice") == expected


@pytest.mark.parametrize("path", ["username", "email", "follower_count", "Bio", "user.bio", ""])
def test_an_unknown_mask_path_is_named(path: str) -> None:
    with pytest.raises(UnknownPath) as refused:
        resolve(ProfilePatch(bio="x"), ["bio", path], username="alice")
    assert refused.value.path == path
    assert repr(path) in str(refused.value)


@pytest.mark.parametrize(
    ("patch", "field", "reason"),
    [
        (ProfilePatch(display_name="   "), "user.display_name", "INVALID_DISPLAY_NAME"),
        (ProfilePatch(display_name="a\nb"), "user.display_name", "INVALID_DISPLAY_NAME"),
        (ProfilePatch(bio="a\x00b"), "user.bio", "INVALID_BIO"),
    ],
)
def test_bad_values_name_their_field(patch: ProfilePatch, field: str, reason: str) -> None:
    with pytest.raises(ProfileRuleError) as refused:
        resolve(patch, [], username="alice")
    assert (refused.value.field, refused.value.reason) == (field, reason)


def test_only_real_changes_count() -> None:
    wanted = {"bio": "hello", "protected": False, "display_name": "Alice"}
    assert changes_to(PROFILE, wanted) == {"protected": False}
    assert changes_to(PROFILE, {}) == {}
