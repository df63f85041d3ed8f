"""Batched: calls arriving together share one run, runs never overlap, and each call gets its own run's outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from services.kit.batching import Batched, chunks


class Recorder:
    def __init__(self, *, fail_on: int | None = None) -> None:
        self.runs: list[list[int]] = []
        self.inside = 0
        self.most_inside = 0
        self.fail_on = fail_on

    async def run(self, items: Sequence[int]) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        self.runs.append(list(items))
        await asyncio.sleep(0.01)  # a round trip: later calls arrive meanwhile
        self.inside -= 1
        if self.fail_on in items:
            raise ConnectionError("the store is down")


async def test_calls_arriving_together_share_a_run_and_later_ones_form_the_next() -> None:
    recorder = Recorder()
    batched = Batched(recorder.run)

    async def later() -> None:
        await asyncio.sleep(0.005)  # while the first run is under way
        await asyncio.gather(*(batched.submit(n) for n in (10, 11, 12)))

    await asyncio.gather(*(batched.submit(n) for n in range(5)), later())
    assert recorder.runs == [[0, 1, 2, 3, 4], [10, 11, 12]]
    assert recorder.most_inside == 1


async def test_each_call_raises_its_own_runs_failure_only() -> None:
    recorder = Recorder(fail_on=1)
    batched = Batched(recorder.run)

    async def later() -> None:
        await asyncio.sleep(0.005)
        await batched.submit(7)

    first, second, third = await asyncio.gather(
        batched.submit(0), batched.submit(1), later(), return_exceptions=True
    )
    assert isinstance(first, ConnectionError) and isinstance(second, ConnectionError)
    assert third is None  # its run came after, and succeeded
    assert recorder.runs == [[0, 1], [7]]


async def test_a_shared_lock_keeps_other_work_out_of_a_run() -> None:
    lock = asyncio.Lock()
    recorder = Recorder()
    batched = Batched(recorder.run, lock=lock)
    async with lock:
        waiting = asyncio.gather(batched.submit(1), batched.submit(2))
        await asyncio.sleep(0.02)
        assert recorder.runs == []  # no run while someone else holds the lock
    await waiting
    assert recorder.runs == [[1, 2]]


async def test_a_cancelled_run_fails_the_calls_that_shared_it() -> None:
    started = asyncio.Event()

    async def hang(items: Sequence[int]) -> None:
        started.set()
        await asyncio.Event().wait()

    batched: Batched[int] = Batched(hang)
    leader = asyncio.create_task(batched.submit(1))
    follower = asyncio.create_task(batched.submit(2))
    await started.wait()
    leader.cancel()
    with pytest.raises(RuntimeError, match="cancelled"):
        await follower
    with pytest.raises(asyncio.CancelledError):
        await leader


def test_chunks_are_consecutive_slices_of_at_most_the_size() -> None:
    assert list(chunks([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert list(chunks([1, 2], 5)) == [[1, 2]]
    assert list(chunks([], 3)) == []
