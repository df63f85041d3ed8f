"""Measure the fan-out lag on a whole local stack: one author, N active followers, a few tweets.

    .venv/bin/python -m tests.timeline.fanout.measure_lag --followers 300 --tweets 10

Starts its own stack on free ports (the default famous threshold, 10,000 followers, so the author is pushed),
registers the followers through the REST gateway, makes each active (a first home-timeline read builds its
cached timeline), then posts tweets one at a time and reads, for each, the `chirp_fanout_lag_seconds` sample
the fan-out worker exported: from the tweet's created_at to the last follower's timeline write. Not a test
(the benchmark measures 1k/10k/100k followers); a quick number for a change to the fan-out.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time

import httpx

from stack import Settings, Stack
from tests.e2e.client import Account, register_and_login


async def _lag_sample(client: httpx.AsyncClient, url: str) -> tuple[float, float]:
    """The (count, sum) of the push lag histogram."""
    text = (await client.get(url)).text
    count = total = 0.0
    for line in text.splitlines():
        if line.startswith('chirp_fanout_lag_seconds_count{path="push"}'):
            count = float(line.rsplit(" ", 1)[1])
        elif line.startswith('chirp_fanout_lag_seconds_sum{path="push"}'):
            total = float(line.rsplit(" ", 1)[1])
    return count, total


async def _bounded(n: int, make: object, limit: int = 16) -> list[Account]:
    gate = asyncio.Semaphore(limit)

    async def one() -> Account:
        async with gate:
            return await make()  # type: ignore[operator,no-any-return]

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def measure(followers: int, tweets: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="chirp-lag-") as data:
        settings = Settings(
            data_dir=data,
            free_ports=True,
            rate_limit_per_second=0,
            # What posting, following and reading need, and nothing else to compete for the CPU.
            services=("auth", "user", "graph", "tweet", "engagement", "media", "timeline", "fanout", "classification"),
            startup_timeout=180,
            service_env={"CHIRP_AUTH_ARGON2_TIME_COST": "1", "CHIRP_AUTH_ARGON2_MEMORY_KIB": "1024"},
        )
        async with Stack(settings) as stack, httpx.AsyncClient(base_url=stack.edge_url, timeout=30) as api:
            metrics = f"http://127.0.0.1:{stack.ports.metrics['fanout']}/metrics"
            author = await register_and_login(api, "author")
            fans = await _bounded(followers, lambda: register_and_login(api, "fan"))

            async def follow_and_read(fan: Account) -> None:
                answer = await api.post(f"/v1/users/{author.username}:follow", headers=fan.headers)
                answer.raise_for_status()
                started = time.perf_counter()
                (await api.get("/v1/timelines/home", headers=fan.headers)).raise_for_status()
                rebuilds.append(time.perf_counter() - started)

            rebuilds: list[float] = []
            gate = asyncio.Semaphore(16)

            async def bounded(fan: Account) -> None:
                async with gate:
                    await follow_and_read(fan)

            await asyncio.gather(*(bounded(f) for f in fans))
            lags = []
            for n in range(tweets):
                count, total = await _lag_sample(api, metrics)
                (await api.post("/v1/tweets", headers=author.headers, json={"text": f"lag {n}"})).raise_for_status()
                deadline = time.monotonic() + 30
                while True:
                    new_count, new_total = await _lag_sample(api, metrics)
                    if new_count > count:
                        lags.append(new_total - total)
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError("the tweet was not fanned out within 30 s")
                    await asyncio.sleep(0.01)
            reads = []
            for fan in fans[:100]:
                started = time.perf_counter()
                (await api.get("/v1/timelines/home", headers=fan.headers)).raise_for_status()
                reads.append(time.perf_counter() - started)
            print(f"first reads (rebuilds, 16 at once): median {statistics.median(rebuilds) * 1000:.1f} ms")
            print(f"cached reads of {tweets} tweets, one at a time: median {statistics.median(reads) * 1000:.1f} ms")
            return lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=int, default=300)
    parser.add_argument("--tweets", type=int, default=10)
    args = parser.parse_args()
    lags = asyncio.run(measure(args.followers, args.tweets))
    print("each, in order (ms):", " ".join(f"{lag * 1000:.0f}" for lag in lags))
    ms = sorted(lag * 1000 for lag in lags)
    print(
        f"fan-out lag, {args.followers} active followers, {len(ms)} tweets: "
        f"median {statistics.median(ms):.1f} ms, min {ms[0]:.1f} ms, max {ms[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
