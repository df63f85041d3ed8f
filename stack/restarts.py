"""When to restart a process that exited by itself: exponential backoff, and a crash-loop limit.

    history = RestartHistory(RestartPolicy())
    delay = history.exited(ran_for=0.4, now=time.monotonic())   # None: crash-looping, stop restarting

The first restart is almost at once (a process killed by accident should be back before anyone notices); each
exit that follows a short run doubles the wait, up to `max_delay`, so a process that cannot start does not
burn the CPU its neighbours need. A run that lasted `stable_after` seconds counts as recovered: the next
crash starts from the first delay again. More than `limit` exits within `window` seconds is a crash loop,
which a restart will not fix (a bad configuration, a corrupt file): the supervisor stops trying and says so,
and /healthz reports the process as crash-looping until a person restarts the stack.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["RestartHistory", "RestartPolicy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RestartPolicy:
    """The restart rules of every process of the stack. The defaults are `make up`'s."""

    first_delay: float = 0.2
    max_delay: float = 30.0
    stable_after: float = 30.0
    limit: int = 5
    window: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.first_delay <= self.max_delay:
            raise ValueError("restart delays: need 0 < first_delay <= max_delay")
        if self.limit < 1 or self.window <= 0 or self.stable_after <= 0:
            raise ValueError("restart limits: need limit >= 1 and positive window and stable_after")


class RestartHistory:
    """The exits of one process, and the delay before its next start."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self.restarts = 0  # every restart so far, for reports
        self._short_runs = 0  # exits in a row after runs shorter than stable_after
        self._exits: deque[float] = deque()

    def exited(self, *, ran_for: float, now: float) -> float | None:
        """Record an exit after `ran_for` seconds of running; the delay before restarting, or None to give up."""
        policy = self.policy
        self._exits.append(now)
        while self._exits and self._exits[0] < now - policy.window:
            self._exits.popleft()
        if len(self._exits) > policy.limit:
            return None
        self._short_runs = 1 if ran_for >= policy.stable_after else self._short_runs + 1
        self.restarts += 1
        delay: float = min(policy.first_delay * 2.0 ** (self._short_runs - 1), policy.max_delay)
        return delay

    def describe_limit(self) -> str:
        """The crash-loop rule in words, for the log line that says a process was given up on."""
        return f"more than {self.policy.limit} exits within {self.policy.window:g}s"
