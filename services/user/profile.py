"""Profile updates (PATCH /v1/me): which settings a request changes, to what, following its field mask.

With an empty mask, the fields the request carries are changed (a JSON body `{"bio": ""}` clears the bio,
a body without `bio` leaves it alone). With a mask, exactly the listed fields are changed, and a listed field
the request does not carry is reset to its default, as AIP-134 prescribes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from services.user.rules import clean_bio, clean_display_name
from services.user.store import Profile

__all__ = ["UPDATABLE", "ProfilePatch", "UnknownPath", "changes_to", "resolve"]

UPDATABLE = ("display_name", "bio", "protected", "discoverable")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfilePatch:
    """The updatable settings a request carries; None = not sent."""

    display_name: str | None = None
    bio: str | None = None
    protected: bool | None = None
    discoverable: bool | None = None

    def sent(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


class UnknownPath(ValueError):
    """A field mask path names no updatable setting."""

    def __init__(self, path: str) -> None:
        super().__init__(f"unknown update_mask path {path!r}; the updatable fields are {', '.join(UPDATABLE)}")
        self.path = path


def resolve(patch: ProfilePatch, mask: Sequence[str], *, username: str) -> dict[str, Any]:
    """The settings to write, cleaned: {field: new value}.

    Raises UnknownPath for a mask path that is not updatable, ProfileRuleError for a value that breaks a rule.
    """
    for path in mask:
        if path not in UPDATABLE:
            raise UnknownPath(path)
    sent = patch.sent()
    if mask:
        defaults: dict[str, Any] = {"display_name": username, "bio": "", "protected": False, "discoverable": False}
        wanted = {path: sent.get(path, defaults[path]) for path in dict.fromkeys(mask)}
    else:
        wanted = sent
    if "display_name" in wanted:
        wanted["display_name"] = clean_display_name(wanted["display_name"], field="user.display_name")
    if "bio" in wanted:
        wanted["bio"] = clean_bio(wanted["bio"], field="user.bio")
    return wanted


def changes_to(profile: Profile, wanted: dict[str, Any]) -> dict[str, Any]:
    """The part of `wanted` that differs from `profile`: what an update really changes."""
    return {name: value for name, value in wanted.items() if getattr(profile, name) != value}
