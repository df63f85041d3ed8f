"""Snowflake ids: 64-bit, time-sortable, unique across 1024 workers without coordination.

    0 | 41 bits: milliseconds since the Chirp epoch | 10 bits: worker id | 12 bits: sequence

Sorting ids sorts by creation time, so timelines are sorted sets scored by id and a page cursor is an id.
41 bits of milliseconds last until 2094.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["EPOCH", "MAX_WORKER_ID", "Snowflake", "min_id_at", "timestamp_of", "worker_of"]

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_EPOCH_MS = int(EPOCH.timestamp() * 1000)

_WORKER_BITS = 10
_SEQUENCE_BITS = 12
_TIME_SHIFT = _WORKER_BITS + _SEQUENCE_BITS
MAX_WORKER_ID = (1 << _WORKER_BITS) - 1
_MAX_SEQUENCE = (1 << _SEQUENCE_BITS) - 1
_MAX_MS = (1 << 41) - 1


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Snowflake:
    """Generates strictly increasing ids for one worker; safe to share between threads and tasks.

    If the wall clock steps back (NTP) or more than 4096 ids are asked for within one millisecond, the generator
    does not wait: it borrows, stamping ids with the last millisecond it used (or the next one), so ids stay
    unique and increasing and the stamps catch up with the clock as soon as it passes them again.
    """

    def __init__(self, worker_id: int, *, clock_ms: Callable[[], int] = _wall_ms) -> None:
        if not 0 <= worker_id <= MAX_WORKER_ID:
            raise ValueError(f"worker id must be in 0..{MAX_WORKER_ID}, not {worker_id}")
        self.worker_id = worker_id
        self._clock_ms = clock_ms
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def next_id(self) -> int:
        """A new id, greater than every id this generator returned before."""
        with self._lock:
            now = self._clock_ms() - _EPOCH_MS
            if now < 0:
                raise RuntimeError("the clock is before the Chirp epoch (2025-01-01)")
            if now > self._last_ms:
                self._last_ms, self._sequence = now, 0
            elif self._sequence < _MAX_SEQUENCE:
                self._sequence += 1  # same millisecond, or the clock stepped back: keep counting on the last one
            else:
                self._last_ms, self._sequence = self._last_ms + 1, 0  # borrow the next millisecond
            if self._last_ms > _MAX_MS:
                raise RuntimeError("snowflake time bits exhausted")
            return (self._last_ms << _TIME_SHIFT) | (self.worker_id << _SEQUENCE_BITS) | self._sequence


def timestamp_of(snowflake_id: int) -> datetime:
    """When `snowflake_id` was made (UTC, millisecond precision)."""
    ms = (snowflake_id >> _TIME_SHIFT) + _EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC)


def worker_of(snowflake_id: int) -> int:
    """The worker id that made `snowflake_id`."""
    return (snowflake_id >> _SEQUENCE_BITS) & MAX_WORKER_ID


def min_id_at(when: datetime) -> int:
    """The smallest id any worker can make at or after `when`: `id >= min_id_at(t)` selects ids made from t on.

    A naive datetime is taken as UTC. Times before the epoch give 0.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    ms = (when - EPOCH) // timedelta(milliseconds=1)
    return max(ms, 0) << _TIME_SHIFT
