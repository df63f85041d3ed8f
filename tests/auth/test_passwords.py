"""The password policy, and argon2id hashing."""

from __future__ import annotations

import pytest

from services.auth.passwords import COMMON_PASSWORDS, MIN_LENGTH, PasswordPolicyError, Passwords, check_policy

USERNAME, EMAIL = "aliceliddell", "alice.l@example.com"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("correct horse battery", None),
        ("alice_rules!", None),  # "alice" is not the username; only the whole username counts
        ("Tr0ub4dor&3", None),
        ("пароль-для-чирпа", None),  # any script: length is counted in characters
        ("密码很长很长很长", None),  # 8 CJK characters are 8 characters
        ("short", "8 to 128"),
        ("sev3n!!", "8 to 128"),
        ("x" * 129, "8 to 128"),
        ("aliceliddell", "username"),
        ("my-ALICELIDDELL-pw", "username"),  # contained, ignoring case
        ("alice.l@example.com", "email"),
        ("aaaaaaaaaa", "different"),
        ("abababababab", "different"),
        ("abcabcabc", "different"),
        ("password", "common"),
        ("Password1", "common"),  # ignoring case
        ("qwertyuiop", "common"),
        ("12345678", "common"),
    ],
)
def test_password_policy(password: str, problem: str | None) -> None:
    if problem is None:
        check_policy(password, username=USERNAME, email=EMAIL)
        return
    with pytest.raises(PasswordPolicyError, match=problem):
        check_policy(password, username=USERNAME, email=EMAIL)


def test_the_email_local_part_is_refused_as_the_whole_password() -> None:
    with pytest.raises(PasswordPolicyError, match="email"):
        check_policy("alice.liddell", username="someone", email="Alice.Liddell@example.com")


def test_a_short_username_inside_a_password_is_fine() -> None:
    # Two-letter handles occur in good passwords by chance; refusing them would refuse half the dictionary.
    check_policy("a lovely bonfire", username="bo", email="bo@example.com")
    with pytest.raises(PasswordPolicyError, match="username"):
        check_policy("a lovely bonfire", username="bon", email="bon@example.com")


def test_every_common_password_is_long_enough_to_need_the_list() -> None:
    # Shorter ones are refused by length already; an entry below the minimum would be dead weight.
    assert all(len(p) >= MIN_LENGTH and p == p.casefold() for p in COMMON_PASSWORDS)


async def test_hashing_verifies_the_right_password_only() -> None:
    passwords = Passwords(time_cost=1, memory_kib=8)
    stored = await passwords.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert await passwords.verify(stored, "correct horse battery")
    assert not await passwords.verify(stored, "correct horse battery!")
    assert not await passwords.verify(None, "chirp-decoy-password")  # the decoy never logs anyone in
    assert not await passwords.verify("not a hash", "anything")
