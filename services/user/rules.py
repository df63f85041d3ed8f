"""Registration rules for usernames and emails, beyond what the contract's validation already checks."""

from __future__ import annotations

import re

__all__ = ["RESERVED_USERNAMES", "USERNAME_PATTERN", "normalize_email", "username_problem"]

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_]{1,15}")

# Names that would impersonate the service or collide with routes and well-known handles.
RESERVED_USERNAMES = frozenset(
    {
        "admin", "administrator", "root", "system", "support", "help", "security", "chirp", "official",
        "api", "www", "me", "settings", "home", "search", "explore", "notifications", "messages",
        "login", "logout", "signup", "register", "null", "undefined", "anonymous", "moderator", "staff",
    }
)  # fmt: skip


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
