"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["PasswordPolicyError", "Passwords", "check_policy"]

MIN_LENGTH = 8
MAX_LENGTH = 128


class PasswordPolicyError(ValueError):
    """The password breaks the policy; the message says how, in words a person understands."""


def check_policy(password: str, *, username: str, email: str) -> None:
    """Refuse passwords that are trivially guessable. Raises PasswordPolicyError."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise PasswordPolicyError(f"password must be {MIN_LENGTH} to {MAX_LENGTH} characters long")
    lowered = password.casefold()
    if lowered in {username.casefold(), email.casefold(), email.partition("@")[0].casefold()}:
        raise PasswordPolicyError("password must not be your username or email")
    if len(set(password)) < 4:
        raise PasswordPolicyError("password must use at least 4 different characters")


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
