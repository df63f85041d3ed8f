"""Many calls at bounded concurrency, retried when the system is only busy, with progress on stderr."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar, cast

import grpc

__all__ = ["Progress", "run_all"]

T = TypeVar("T")
R = TypeVar("R")

# A loaded 2-core machine answers UNAVAILABLE (Envoy's overflow, a busy upstream), misses deadlines or sees a
# stream reset (CANCELLED) now and then; seeding should ride through that, not stop halfway. Every call the
# benchmark retries is idempotent (request ids, or naturally so).
_RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.CANCELLED,
}
_ATTEMPTS = 6


class Progress:
    """Prints `label done/total rate/s` every `every` seconds and once at the end."""

    def __init__(self, label: str, total: int, *, every: float = 5.0, quiet: bool = False) -> None:
        self.label, self.total, self.every, self.quiet = label, total, every, quiet
        self.done = 0
        self.started = time.monotonic()
        self._last = self.started

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._print()

    def finish(self) -> float:
        self._print(final=True)
        return self.elapsed

    def _print(self, *, final: bool = False) -> None:
        if self.quiet:
            return
        rate = self.done / self.elapsed if self.elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 and not final else 0.0
        tail = f"in {self.elapsed:.1f}s" if final else f"eta {left:.0f}s"
        print(f"  {self.label:<24} {self.done:>9,}/{self.total:<9,} {rate:8.0f}/s  {tail}", file=sys.stderr, flush=True)


async def run_all(
    items: Sequence[T],
    call: Callable[[T], Awaitable[R]],
    *,
    concurrency: int,
    label: str,
    quiet: bool = False,
    retries: Counter[str] | None = None,
) -> tuple[list[R], float]:
    """`call` on every item, at most `concurrency` at once, in item order; the answers and the seconds taken.

    Retries an item whose call failed with a transient gRPC status (backing off; counted by status name in
    `retries`), and raises on anything else.
    """
    results: list[R | None] = [None] * len(items)
    progress = Progress(label, len(items), quiet=quiet)
    cursor = iter(range(len(items)))

    async def worker() -> None:
        for i in cursor:
            for attempt in range(_ATTEMPTS):
                try:
                    results[i] = await call(items[i])
                    break
                except grpc.aio.AioRpcError as exc:
                    if exc.code() not in _RETRYABLE or attempt == _ATTEMPTS - 1:
                        raise
                    if retries is not None:
                        retries[exc.code().name] += 1
                    await asyncio.sleep(0.2 * 2**attempt)
            progress.step()

    workers = [asyncio.create_task(worker()) for _ in range(max(1, min(concurrency, len(items))))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for w in workers:
            w.cancel()
        raise
    return cast(list[R], results), progress.finish()
