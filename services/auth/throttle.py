"""Brute-force protection on log-in: too many failures for one account, or from one client address, lock it.

Each *subject* (an account, or a login that matches no account, and a client address) has a count of
remembered failures. Up to `max_failures` failures cost nothing; the failure that reaches it locks the subject
for `first_lock` seconds, and each further failure (one can be tried whenever a lock has run out) locks it
twice as long, up to `longest_lock`. A failure is remembered for `memory` seconds after the subject's last one.
A successful log-in clears the account's count; it does not clear the address's (an attacker would log into
an account of their own between guesses), but it does not add to it either.

Concurrency: an attempt is charged as a failure *before* the password is checked, in the same transaction
that checks the locks, and refunded if the password was right. So a burst of parallel guesses cannot slip
past the limit while the slow password checks run: the attempt that would exceed it is refused up front.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from services.auth.store import AuthStore, FailureCount

__all__ = ["Attempt", "LockoutPolicy", "LoginThrottle", "TooManyAttempts"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LockoutPolicy:
    max_failures: int
    first_lock: float
    longest_lock: float
    memory: float

    def remembered(self, count: FailureCount | None, *, now: float) -> int:
        """How many of the failures in `count` still count at `now`."""
        if count is None or now - count.last_failure_at >= self.memory:
            return 0
        return count.failures

    def lock_after(self, failures: int) -> float:
        """How long a subject is locked after its `failures`-th failure."""
        if failures < self.max_failures:
            return 0.0
        # Capped so the power stays small: 2**32 times any first lock is past any sane longest lock.
        doublings = min(failures - self.max_failures, 32)
        return min(self.longest_lock, self.first_lock * float(2**doublings))

    def wait(self, count: FailureCount | None, *, now: float) -> float:
        """Seconds until the subject may try again; 0 when it may now."""
        failures = self.remembered(count, now=now)
        if count is None or failures == 0:
            return 0.0
        return max(0.0, count.last_failure_at + self.lock_after(failures) - now)


class TooManyAttempts(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"locked for {retry_after:.1f}s")
        self.retry_after = retry_after

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds, rounded up: retrying after that long is never too early."""
        return max(1, math.ceil(self.retry_after))


@dataclass(frozen=True, slots=True)
class Attempt:
    """A log-in attempt admitted and charged as a failure; settle it with `LoginThrottle.succeeded`."""

    account: str
    address: str
    charged_at: float
    # The address's count before the charge, to restore it exactly on success.
    address_before: FailureCount | None = field(default=None)


class LoginThrottle:
    def __init__(
        self,
        store: AuthStore,
        *,
        account: LockoutPolicy,
        address: LockoutPolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._policies = {"account": account, "address": address}
        self._clock = clock

    async def begin(self, *, user_id: int | None, login: str, address: str) -> Attempt:
        """Admit an attempt to log in as `user_id` (None: `login` matches no account) from `address`, charging
        the account and the address a failure each.

        Raises TooManyAttempts, charging nothing, if either is locked. A login that matches no account is
        counted under the login itself, so guessing at unknown accounts is throttled the same way and the
        answers do not tell which accounts exist.
        """
        now = self._clock()
        account = f"account:{user_id}" if user_id is not None else f"login:{login.strip().casefold()}"
        subjects = {"account": account, "address": f"address:{address}"}
        async with self._store.failure_book() as book:
            counts = {kind: await book.get(subject) for kind, subject in subjects.items()}
            wait = max(self._policies[kind].wait(counts[kind], now=now) for kind in subjects)
            if wait > 0:
                raise TooManyAttempts(wait)
            for kind, subject in subjects.items():
                failures = self._policies[kind].remembered(counts[kind], now=now) + 1
                await book.put(subject, FailureCount(failures, now))
        return Attempt(subjects["account"], subjects["address"], now, counts["address"])

    async def succeeded(self, attempt: Attempt) -> None:
        """The password was right: clear the account's failures and take back the address's charge."""
        async with self._store.failure_book() as book:
            await book.forget(attempt.account)
            count = await book.get(attempt.address)
            if count is None:
                return
            policy = self._policies["address"]
            before = policy.remembered(attempt.address_before, now=attempt.charged_at)
            untouched = count == FailureCount(before + 1, attempt.charged_at)
            if untouched and attempt.address_before is not None:
                # Nobody was charged from this address since us: put back exactly what was there.
                await book.put(attempt.address, FailureCount(before, attempt.address_before.last_failure_at))
            else:
                # Later failures were charged after ours (they stay), or the subject was fresh before us.
                await book.put(attempt.address, FailureCount(count.failures - 1, count.last_failure_at))

    async def forget_old(self) -> int:
        """Delete counts no policy remembers any more; returns how many."""
        memory = max(policy.memory for policy in self._policies.values())
        return await self._store.forget_failures(up_to=self._clock() - memory)
