from __future__ import annotations

import pytest

from services.user.rules import ProfileRuleError, clean_bio, clean_display_name, normalize_email, username_problem


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


@pytest.mark.parametrize("name", ["me", "ME", "Root", "chirp", "settings"])
def test_reserved_usernames_are_refused_ignoring_case(name: str) -> None:
    assert "reserved" in (username_problem(name) or "")


@pytest.mark.parametrize(
    ("value", "cleaned"),
    [("Alice", "Alice"), ("  Alice L.  ", "Alice L."), ("Zoë 🐦", "Zoë 🐦"), ("李小龍", "李小龍")],
)
def test_display_names_are_trimmed(value: str, cleaned: str) -> None:
    assert clean_display_name(value) == cleaned


@pytest.mark.parametrize("value", ["", "   ", "two\nlines", "tab\there", "nul\x00", "evil\u202eeman", "bell\x07"])
def test_display_names_refuse_blanks_and_control_characters(value: str) -> None:
    with pytest.raises(ProfileRuleError) as refused:
        clean_display_name(value)
    assert (refused.value.reason, refused.value.field) == ("INVALID_DISPLAY_NAME", "display_name")


def test_bios_keep_line_breaks_but_refuse_other_control_characters() -> None:
    assert clean_bio("  first line\r\nsecond line\n") == "first line\nsecond line"
    assert clean_bio("") == ""
    for bad in ("tab\there", "nul\x00", "rtl\u202e"):
        with pytest.raises(ProfileRuleError) as refused:
            clean_bio(bad)
        assert refused.value.reason == "INVALID_BIO"
