"""Batches: group commit (`Batched`), and cutting a long list of ids into calls of a bounded size (`chunks`).

Group commit: calls that arrive together are handled by one run of a batch function.

A consumer handling many events at once would otherwise pay one round trip (a SQLite commit, a Typesense
import, an RPC) per event. `Batched.submit(item)` returns once a run that included `item` finished, and raises
what that run raised. Runs never overlap: the first caller runs a batch of everything waiting, and calls that
arrive meanwhile form the next one. The order of items within a batch is the order of the calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Generic, TypeVar

__all__ = ["Batched", "chunks"]

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size` (a batch RPC's or an SQL IN list's limit)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Batched(Generic[T]):
    def __init__(self, run: Callable[[Sequence[T]], Awaitable[None]], *, lock: asyncio.Lock | None = None) -> None:
        """`lock` is held during every run; pass one to keep other work (a sweep) from overlapping runs."""
        self._run = run
        self._lock = lock or asyncio.Lock()
        self._waiting: list[tuple[T, asyncio.Future[None]]] = []

    async def submit(self, item: T) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        async with self._lock:
            if not done.done():  # no run took it while this call waited for the lock: run a batch now
                # Let the calls already scheduled (the rest of a consumer's fetch) join this batch.
                await asyncio.sleep(0)
                taken, self._waiting = self._waiting, []
                try:
                    await self._run([i for i, _ in taken])
                except BaseException as exc:
                    # Each waiting call raises its batch's failure (a cancelled run fails the others too).
                    failure = exc if isinstance(exc, Exception) else RuntimeError("the batch was cancelled")
                    for _, future in taken:
                        if future is not done and not future.done():
                            future.set_exception(failure)
                    raise
                for _, future in taken:
                    if not future.done():  # a caller cancelled while it waited: its item was handled anyway
                        future.set_result(None)
        await done
