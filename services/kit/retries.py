"""When a consumer tries a failed event again, and when it gives up on it.

Two kinds of failure, two schedules (see events for where they apply):

- the event's own (it breaks an invariant, a bug trips on it): tried `max_deliver` times in all, waiting
  `backoff[n-1]` seconds after the n-th failure, then moved to the dead letters (see deadletters);
- a dependency's outage (failures.dependency_down: UNAVAILABLE, a connection refused, a timeout): tried again for
  as long as the outage lasts, waiting `outage_backoff[n-1]` seconds after the n-th delivery. The last value
  repeats, so it caps the wait, and with it how long events stay behind once the dependency is back.

Every process reads both from its settings (CHIRP_EVENT_MAX_DELIVER, CHIRP_EVENT_RETRY_BACKOFF,
CHIRP_EVENT_OUTAGE_BACKOFF), so a test can make them short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_MAX_DELIVER",
    "DEFAULT_OUTAGE_BACKOFF",
    "RetryPolicy",
    "check_schedule",
    "parse_schedule",
]

# About two and a half minutes from the first failure to the fifth, the last: long enough for a deploy or a
# lock to pass, short enough that a broken event is looked at the same day.
DEFAULT_MAX_DELIVER = 5
DEFAULT_BACKOFF: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
# Doubling up to half a minute: an outage of hours costs one delivery per event every 30 s, and an event is at
# most 30 s late once the dependency is back.
DEFAULT_OUTAGE_BACKOFF: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
_LONGEST_S = 86_400.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_deliver: int = DEFAULT_MAX_DELIVER
    backoff: tuple[float, ...] = DEFAULT_BACKOFF
    outage_backoff: tuple[float, ...] = DEFAULT_OUTAGE_BACKOFF

    def __post_init__(self) -> None:
        if self.max_deliver < 1:
            raise ValueError("max_deliver must be at least 1")
        for name in ("backoff", "outage_backoff"):
            object.__setattr__(self, name, check_schedule(tuple(getattr(self, name))))

    def after_failure(self, failures: int) -> float | None:
        """Seconds to wait after the event's own `failures`-th failure, or None: it goes to the dead letters."""
        if failures >= self.max_deliver:
            return None
        return _at(self.backoff, failures)

    def during_outage(self, delivery: int) -> float:
        """Seconds to wait after the `delivery`-th delivery failed because a dependency is down."""
        return _at(self.outage_backoff, delivery)


def parse_schedule(raw: str) -> tuple[float, ...]:
    """`"1, 5, 30"` → (1.0, 5.0, 30.0); raises ValueError with a message for a person."""
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise ValueError("expected comma-separated seconds, e.g. 1,5,30") from None
    return check_schedule(values)


def check_schedule(values: Sequence[float]) -> tuple[float, ...]:
    """`values` as a tuple, or ValueError if it is empty or a delay is not a sensible number of seconds."""
    if not values:
        raise ValueError("expected at least one delay")
    if any(not 0 < v <= _LONGEST_S for v in values):  # also refuses nan
        raise ValueError(f"every delay must be more than 0 and at most {_LONGEST_S:g} seconds")
    return tuple(float(v) for v in values)


def _at(schedule: tuple[float, ...], n: int) -> float:
    return schedule[min(max(n, 1), len(schedule)) - 1]
