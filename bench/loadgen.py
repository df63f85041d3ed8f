"""An open-loop, constant-rate HTTP load generator that does not suffer from coordinated omission.

Request n is *due* at `start + n / rate`, whether or not earlier requests have answered: a slow server does
not slow the arrivals down (that would hide its queueing, the coordinated omission of closed-loop tools).
Latency is measured from the due time, not from when the request happened to be sent, so time a request
spent waiting behind a late generator counts too.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aiohttp
import numpy as np

__all__ = ["NO_ANSWER", "Action", "EndpointStats", "Mix", "Result", "run_open_loop", "schedule"]

# An action sends one request with the session and returns the HTTP status.
Action = Callable[[aiohttp.ClientSession], Awaitable[int]]


@dataclass(frozen=True)
class Mix:
    """A weighted choice of named actions, e.g. 60% home timeline, 30% user timeline, 10% post."""

    actions: Sequence[tuple[str, float, Action]]

    def pick(self, rng: random.Random) -> tuple[str, Action]:
        names = [a[0] for a in self.actions]
        weights = [a[1] for a in self.actions]
        index = rng.choices(range(len(names)), weights)[0]
        return names[index], self.actions[index][2]


# The status recorded for a request that got no HTTP answer (connection error or client timeout).
NO_ANSWER = 599


@dataclass
class EndpointStats:
    latencies_ms: list[float] = field(default_factory=list)
    # Failed requests by HTTP status (NO_ANSWER when there was none): 429 and 503 tell overload from bugs.
    failures: Counter[int] = field(default_factory=Counter)

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    def summary(self, elapsed_s: float) -> dict[str, object]:
        """Achieved throughput is successful answers per second of the step, stragglers included."""
        if not self.latencies_ms:
            return {
                "requests": self.errors,
                "errors": self.errors,
                "errors_by_status": {str(k): v for k, v in sorted(self.failures.items())},
                "throughput_rps": 0.0,
                **dict.fromkeys(("p50_ms", "p90_ms", "p99_ms", "max_ms")),
            }
        ok = np.array(self.latencies_ms)
        return {
            "requests": len(self.latencies_ms) + self.errors,
            "errors": self.errors,
            "errors_by_status": {str(k): v for k, v in sorted(self.failures.items())},
            "throughput_rps": len(self.latencies_ms) / elapsed_s,
            "p50_ms": float(np.percentile(ok, 50)),
            "p90_ms": float(np.percentile(ok, 90)),
            "p99_ms": float(np.percentile(ok, 99)),
            "max_ms": float(np.max(ok)),
        }


@dataclass
class Result:
    offered_rps: float
    duration_s: float
    # From the first due time to the last answer: at least duration_s, more when answers lag behind.
    elapsed_s: float
    endpoints: dict[str, EndpointStats]
    # How far behind schedule the generator itself fell at worst: large values mean the client, not the
    # server, was the bottleneck, and the run should be read with that in mind.
    max_send_lag_ms: float

    def summary(self) -> dict[str, object]:
        return {
            "offered_rps": self.offered_rps,
            "duration_s": self.duration_s,
            "elapsed_s": self.elapsed_s,
            "max_send_lag_ms": self.max_send_lag_ms,
            "endpoints": {
                name: s.summary(max(self.elapsed_s, self.duration_s)) for name, s in sorted(self.endpoints.items())
            },
        }


def schedule(rate: float, duration_s: float) -> list[float]:
    """The due times (seconds from the start) of a constant-rate run."""
    return [n / rate for n in range(int(rate * duration_s))]


async def run_open_loop(
    session: aiohttp.ClientSession, mix: Mix, *, rate: float, duration_s: float, seed: int = 0
) -> Result:
    """Drive `mix` at `rate` requests per second for `duration_s`; wait for the stragglers; report."""
    rng = random.Random(seed)
    stats: dict[str, EndpointStats] = {name: EndpointStats() for name, _, _ in mix.actions}
    in_flight: set[asyncio.Task[None]] = set()
    max_lag = 0.0

    async def one(name: str, action: Action, due: float) -> None:
        try:
            status = await action(session)
        except (aiohttp.ClientError, TimeoutError):
            status = NO_ANSWER
        if 200 <= status < 300:
            stats[name].latencies_ms.append((time.perf_counter() - due) * 1000)
        else:
            stats[name].failures[status] += 1

    start = time.perf_counter()
    for offset in schedule(rate, duration_s):
        due = start + offset
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        else:
            max_lag = max(max_lag, -wait)
        name, action = mix.pick(rng)
        task = asyncio.create_task(one(name, action, due))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(in_flight)
    return Result(
        offered_rps=rate,
        duration_s=duration_s,
        elapsed_s=time.perf_counter() - start,
        endpoints=stats,
        max_send_lag_ms=max_lag * 1000,
    )
