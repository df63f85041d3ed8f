"""Registration and profile rules, beyond what the contract's validation already checks (lengths, patterns)."""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "RESERVED_USERNAMES",
    "USERNAME_PATTERN",
    "ProfileRuleError",
    "clean_bio",
    "clean_display_name",
    "normalize_email",
    "username_problem",
]

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_]{1,15}")

# Names that would impersonate the service or collide with routes and well-known handles.
RESERVED_USERNAMES = frozenset(
    {
        "admin", "administrator", "root", "system", "support", "help", "security", "chirp", "official",
        "api", "www", "me", "settings", "home", "search", "explore", "notifications", "messages",
        "login", "logout", "signup", "register", "null", "undefined", "anonymous", "moderator", "staff",
    }
)  # fmt: skip


class ProfileRuleError(ValueError):
    """A profile value breaks a rule: `reason` (UPPER_SNAKE) and `field` say which, the message how."""

    def __init__(self, reason: str, field: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.field = field


def username_problem(username: str) -> str | None:
    """Why `username` cannot be registered, or None if it can."""
    if not USERNAME_PATTERN.fullmatch(username):
        return "username must be 1 to 15 letters, digits or underscores"
    if username.casefold() in RESERVED_USERNAMES:
        return f"username {username!r} is reserved"
    return None


def normalize_email(email: str) -> str:
    """The form emails are compared in: the domain part is case-insensitive, and so in practice is the rest."""
    return email.strip().casefold()


def clean_display_name(value: str, *, field: str = "display_name") -> str:
    """`value` without surrounding spaces; ProfileRuleError if nothing is left or it has control characters.

    A display name sits on one line next to the handle: a line break or a bidi override in it would let one
    user's name mangle the text around it.
    """
    cleaned = value.strip()
    if not cleaned:
        raise ProfileRuleError("INVALID_DISPLAY_NAME", field, "display name must not be blank")
    if any(_is_control(ch) for ch in cleaned):
        raise ProfileRuleError("INVALID_DISPLAY_NAME", field, "display name must not contain control characters")
    return cleaned


def clean_bio(value: str, *, field: str = "bio") -> str:
    """`value` without surrounding spaces; line breaks are fine (as \\n), other control characters are not."""
    cleaned = value.replace("\r\n", "\n").strip()
    if any(_is_control(ch) for ch in cleaned if ch != "\n"):
        raise ProfileRuleError("INVALID_BIO", field, "bio must not contain control characters other than line breaks")
    return cleaned


def _is_control(ch: str) -> bool:
    # Cc: C0/C1 controls (tabs, line breaks, NUL, ...); the bidi embeddings, overrides and isolates (Cf)
    # reorder the text that follows them.
    return unicodedata.category(ch) == "Cc" or ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
