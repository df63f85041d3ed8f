from __future__ import annotations

import pytest

from services.user.rules import normalize_email, username_problem


@pytest.mark.parametrize("name", ["a", "alice_99", "A" * 15, "_"])
def test_valid_usernames(name: str) -> None:
    assert username_problem(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [("", "1 to 15"), ("a" * 16, "1 to 15"), ("no spaces", "1 to 15"), ("ünï", "1 to 15"), ("Admin", "reserved")],
)
def test_invalid_usernames(name: str, why: str) -> None:
    problem = username_problem(name)
    assert problem is not None and why in problem


def test_emails_compare_case_insensitively() -> None:
    assert normalize_email(" Alice@Example.COM ") == "alice@example.com"
