"""Password hashing (argon2id) and the password policy.

The policy follows NIST SP 800-63B: a minimum length, no composition rules (they make passwords harder to
remember, not to guess), and a refusal of passwords an attacker tries first: the most common ones, the
account's own names, and one character repeated. Length is counted in characters (code points), so every
script gets the same room.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["COMMON_PASSWORDS", "MAX_LENGTH", "MIN_LENGTH", "PasswordPolicyError", "Passwords", "check_policy"]

MIN_LENGTH = 8
MAX_LENGTH = 128
MIN_DISTINCT = 4
# A username this short appears inside many good passwords by chance; containing it says nothing.
_MIN_NAME_IN_PASSWORD = 3

# The passwords of at least 8 characters that lead the public lists of leaked passwords (SecLists'
# 10-million-password top list, NCSC's 100k list): what any guessing attack tries first.
COMMON_PASSWORDS = frozenset(
    {
        "password", "password1", "password12", "password123", "password1234", "passw0rd", "p@ssw0rd",
        "p@ssword", "pa$$word", "12345678", "123456789", "1234567890", "12345678910", "0123456789",
        "987654321", "87654321", "11111111", "111111111", "00000000", "88888888", "12341234", "11223344",
        "123123123", "147258369", "123qweasd", "1qaz2wsx", "1q2w3e4r", "1q2w3e4r5t", "qwertyuiop", "qwerty123",
        "qwerty12", "qwertyui", "qwerty1234", "asdfghjkl", "asdfasdf", "zxcvbnm1", "iloveyou", "iloveyou1",
        "sunshine", "princess", "football", "baseball", "basketball", "superman", "batman123", "trustno1",
        "whatever", "starwars", "jennifer", "michelle", "computer", "internet", "corvette", "mercedes",
        "letmein1", "welcome1", "welcome123", "changeme", "changeme1", "admin123", "administrator",
        "abc12345", "abcd1234", "abcdefgh", "aa123456", "a1b2c3d4", "q1w2e3r4", "zaq12wsx", "!qaz2wsx",
        "qazwsxedc", "passpass", "secret123", "master12", "monkey12", "dragon12", "shadow12", "chocolate",
        "butterfly", "liverpool", "chelsea1", "arsenal1", "pokemon1", "minecraft", "charlie1", "michael1",
        "jordan23", "hello123", "loveyou1", "lovely12", "samsung1", "google123", "test1234", "testtest",
        "qwer1234", "asdf1234", "zxcv1234", "1qazxsw2", "passwort", "motdepasse", "contraseña",
    }
)  # fmt: skip


class PasswordPolicyError(ValueError):
    """The password breaks the policy; the message says how, in words a person understands."""


def check_policy(password: str, *, username: str, email: str) -> None:
    """Refuse passwords that are trivially guessable. Raises PasswordPolicyError."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise PasswordPolicyError(f"password must be {MIN_LENGTH} to {MAX_LENGTH} characters long")
    lowered = password.casefold()
    name = username.casefold()
    if len(name) >= _MIN_NAME_IN_PASSWORD and name in lowered:
        raise PasswordPolicyError("password must not contain your username")
    if lowered in {email.strip().casefold(), email.strip().partition("@")[0].casefold()}:
        raise PasswordPolicyError("password must not be your email address")
    if len(set(password)) < MIN_DISTINCT:
        raise PasswordPolicyError(f"password must use at least {MIN_DISTINCT} different characters")
    if lowered in COMMON_PASSWORDS or lowered.strip() in COMMON_PASSWORDS:
        raise PasswordPolicyError("password is one of the most common passwords; choose another")


class Passwords:
    """argon2id hashing. Hashing is deliberately slow, so it runs in a worker thread, not on the event loop."""

    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        # Verifying against a fixed hash when the account does not exist keeps the answer time equal,
        # so timing does not reveal which logins exist.
        self._decoy = self._hasher.hash("chirp-decoy-password")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(stored_hash or self._decoy, password) and stored_hash is not None
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)
