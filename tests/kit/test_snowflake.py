"""Snowflake ids: layout, order, uniqueness across threads, clock steps back, cursors by time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from services.kit.snowflake import EPOCH, Snowflake, min_id_at, timestamp_of, worker_of

_T0 = int(datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp() * 1000)


class FakeClock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_layout_time_worker_sequence() -> None:
    clock = FakeClock(_T0)
    ids = Snowflake(5, clock_ms=clock)
    first, second = ids.next_id(), ids.next_id()
    assert first == ((_T0 - int(EPOCH.timestamp() * 1000)) << 22) | (5 << 12)
    assert second == first + 1
    assert worker_of(first) == 5
    assert timestamp_of(first) == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert 0 < first < 2**63


def test_ids_increase_and_carry_their_time() -> None:
    clock = FakeClock(_T0)
    ids = Snowflake(1, clock_ms=clock)
    made = []
    for step in range(50):
        clock.ms = _T0 + step * 7
        made.append(ids.next_id())
    assert made == sorted(made) and len(set(made)) == len(made)
    assert timestamp_of(made[-1]) - timestamp_of(made[0]) == timedelta(milliseconds=49 * 7)


def test_clock_stepping_back_keeps_ids_increasing() -> None:
    clock = FakeClock(_T0)
    ids = Snowflake(1, clock_ms=clock)
    before = ids.next_id()
    clock.ms = _T0 - 5_000  # NTP steps the clock back five seconds
    during = [ids.next_id() for _ in range(10)]
    assert all(i > before for i in during) and during == sorted(during)
    assert timestamp_of(during[-1]) == timestamp_of(before), "borrowed ids keep the last stamp"
    clock.ms = _T0 + 1
    after = ids.next_id()
    assert after > during[-1] and timestamp_of(after) == timestamp_of(before) + timedelta(milliseconds=1)


def test_sequence_overflow_borrows_the_next_millisecond() -> None:
    clock = FakeClock(_T0)
    ids = Snowflake(3, clock_ms=clock)
    burst = [ids.next_id() for _ in range(4096 + 10)]
    assert len(set(burst)) == len(burst) and burst == sorted(burst)
    assert timestamp_of(burst[4096]) == timestamp_of(burst[0]) + timedelta(milliseconds=1)
    assert all(worker_of(i) == 3 for i in burst)


def test_unique_across_threads() -> None:
    ids = Snowflake(9)
    made: list[list[int]] = [[] for _ in range(8)]

    def work(out: list[int]) -> None:
        for _ in range(5000):
            out.append(ids.next_id())

    threads = [threading.Thread(target=work, args=(out,)) for out in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for out in made for i in out]
    assert len(set(everything)) == 40_000
    assert all(out == sorted(out) for out in made)


def test_min_id_at_bounds_ids_by_time() -> None:
    clock = FakeClock(_T0)
    a = Snowflake(1023, clock_ms=clock).next_id()
    clock.ms += 1
    b = Snowflake(0, clock_ms=clock).next_id()
    cut = min_id_at(datetime.fromtimestamp((_T0 + 1) / 1000, UTC))
    assert a < cut <= b
    assert min_id_at(datetime(2026, 3, 1, 12, 0)) == min_id_at(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    assert min_id_at(datetime(2000, 1, 1, tzinfo=UTC)) == 0


def test_worker_id_range() -> None:
    with pytest.raises(ValueError):
        Snowflake(1024)
    with pytest.raises(ValueError):
        Snowflake(-1)
