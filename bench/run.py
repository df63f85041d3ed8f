"""One benchmark run: stack, seeding, the rate sweep with its floor, fan-out lag, profile, report.

`run(config)` starts its own stack in `config.data_dir/<scale>` (reused across runs: seeding is skipped when
that directory was already seeded at the same scale); `run(config, stack=...)` uses a running one instead
(the smoke test passes the test session's).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from bench import cpu, events, fanout_lag, profile, report, rest, workload
from bench.config import Config
from bench.loadgen import Mix, Result, run_open_loop
from bench.rest import Reader
from bench.seed import Seeded, seed
from stack import Settings, Stack

__all__ = ["run"]

_LOGIN_CONCURRENCY = 4
_AUTHOR_SAMPLE = 5000
# The services a home-timeline read, a user-timeline read and a post pass through.
_PROFILED = ("timeline", "tweet", "user", "graph", "engagement", "fanout")


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


@contextlib.asynccontextmanager
async def _own_stack(config: Config) -> AsyncIterator[Stack]:
    data_dir = config.data_dir / config.scale.name
    if config.fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    env = dict(config.extra_env)
    if config.famous_followers is not None:
        env["CHIRP_FAMOUS_FOLLOWERS"] = str(config.famous_followers)
    # Tokens must outlive a long sweep; log-in is not what is measured.
    env.setdefault("CHIRP_AUTH_ACCESS_TOKEN_TTL", "86400")
    settings = Settings(
        data_dir=data_dir,
        free_ports=True,
        rate_limit_per_second=0,  # the benchmark measures the system, not the limiter
        log_level="WARNING",
        # Typesense replays the writes it had queued when it was stopped before it answers healthy: after a
        # full-scale seeding that took over three minutes here.
        startup_timeout=900.0,
        service_env=env,
    )
    async with Stack(settings) as stack:
        yield stack


async def _login_all(session: aiohttp.ClientSession, base: str, usernames: Sequence[str]) -> dict[str, Reader]:
    semaphore = asyncio.Semaphore(_LOGIN_CONCURRENCY)

    async def one(username: str) -> Reader:
        async with semaphore:
            return await rest.login(session, base, username)

    readers = await asyncio.gather(*(one(u) for u in usernames))
    return {r.username: r for r in readers}


def _pids(stack: Stack) -> dict[str, int]:
    pids = {name: p.pid for name, p in stack.processes.items() if p.pid is not None}
    pids["loadgen"] = os.getpid()
    return pids


async def _step(
    session: aiohttp.ClientSession, mix: Mix, *, rate: float, config: Config, pids: dict[str, int], seed: int
) -> tuple[Result, dict[str, float]]:
    if config.warmup_seconds > 0:
        await run_open_loop(session, mix, rate=rate, duration_s=config.warmup_seconds, seed=seed + 1)
    began, before = time.monotonic(), cpu.cpu_seconds(pids, alone=("loadgen",))
    result = await run_open_loop(session, mix, rate=rate, duration_s=config.step_seconds, seed=seed)
    cores = cpu.spent(before, cpu.cpu_seconds(pids, alone=("loadgen",)), time.monotonic() - began)
    return result, {k: round(v, 3) for k, v in cores.items()}


def _line(result: Result) -> str:
    parts = []
    for name, stats in result.summary()["endpoints"].items():  # type: ignore[attr-defined]
        p50, p99 = stats["p50_ms"], stats["p99_ms"]
        lat = "no answers" if p50 is None else f"p50 {p50:6.1f} p99 {p99:7.1f} ms"
        parts.append(
            f"{name} {stats['throughput_rps']:6.1f}/s {lat}" + (f" err {stats['errors']}" if stats["errors"] else "")
        )
    return " | ".join(parts)


async def _sweep(
    session: aiohttp.ClientSession,
    config: Config,
    stack: Stack,
    mixed: Mix,
    floor: Mix,
    *,
    quiet: bool,
) -> list[dict[str, Any]]:
    steps = []
    pids = _pids(stack)
    for n, rate in enumerate(config.rates):
        mixed_result, mixed_cores = await _step(session, mixed, rate=rate, config=config, pids=pids, seed=10 * n)
        _say(quiet, f"  {rate:7g}/s mixed  {_line(mixed_result)}")
        floor_result, floor_cores = await _step(session, floor, rate=rate, config=config, pids=pids, seed=10 * n + 5)
        _say(quiet, f"  {rate:7g}/s floor  {_line(floor_result)}")
        steps.append(
            {
                "offered_rps": float(rate),
                "mixed": mixed_result.summary(),
                "floor": floor_result.summary(),
                "cores_used": {"mixed": mixed_cores, "floor": floor_cores},
                # The machine is shared: how busy it was, as the 1-minute load average after the step.
                "load_average": os.getloadavg()[0],
            }
        )
        # Let the posts of this step fan out before the next one starts.
        _, stuck = await events.wait_drained(
            stack.nats_url, within=600, stalled_after=config.stall_seconds, quiet=quiet
        )
        steps[-1]["stuck_consumers"] = stuck
    return steps


async def _profile(
    session: aiohttp.ClientSession, config: Config, stack: Stack, mixed: Mix, directory: Path, *, quiet: bool
) -> dict[str, str]:
    """Sample the services during an extra, unreported step at the top rate (sampling perturbs it)."""
    if not profile.available():
        _say(quiet, "py-spy is not installed: no profile")
        return {}
    rate = max(config.rates)
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    _say(quiet, f"profiling {', '.join(_PROFILED)} for {config.step_seconds:g}s at {rate:g} req/s")
    targets = {n: p.pid for n, p in stack.processes.items() if n in _PROFILED and p.pid is not None}
    recordings = {
        n: asyncio.create_task(profile.record(pid, config.step_seconds, directory / f"{n}.txt"))
        for n, pid in targets.items()
    }
    await run_open_loop(session, mixed, rate=rate, duration_s=config.step_seconds, seed=99)
    summaries = {}
    for name, task in recordings.items():
        if await task:
            summaries[name] = profile.summarize((directory / f"{name}.txt").read_text())
            (directory / f"{name}.summary.txt").write_text(summaries[name])
    return summaries


async def _lags(
    session: aiohttp.ClientSession,
    config: Config,
    stack: Stack,
    seeded: Seeded,
    logged_in: dict[str, Reader],
    *,
    quiet: bool,
) -> list[dict[str, Any]]:
    graph = seeded.graphs["powerlaw"]
    threshold = config.famous_followers if config.famous_followers is not None else 10_000
    metrics_port = stack.ports.metrics.get("fanout")
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics" if metrics_port else None
    out = []
    redis = Redis.from_url(stack.redis_url)
    try:
        edges = set(graph.follows)
        for index, followers in sorted(graph.celebrities.items(), key=lambda kv: kv[1]):
            await events.wait_drained(stack.nats_url, within=600, stalled_after=config.stall_seconds, quiet=quiet)
            follower_ids = [seeded.user_id("powerlaw", f) for f in graph.followers(index)]
            reader = next((logged_in[graph.usernames[r]] for r in graph.readers if (r, index) in edges), None)
            lag = await fanout_lag.measure(
                session=session,
                edge_url=stack.edge_url,
                redis=redis,
                author=logged_in[graph.usernames[index]],
                followers=follower_ids,
                follower_reader=reader,
                famous=followers >= threshold,
                active_fraction=config.active_fraction,
                metrics_url=metrics_url,
                within=config.lag_timeout,
            )
            d = lag.delivered_ms
            _say(
                quiet,
                f"  fan-out to {followers:>7,} ({lag.active:,} active, {lag.mode}): post {lag.post_ms:.0f} ms, "
                f"50% {d['50%']} ms, 100% {d['100%']} ms, worker metric {lag.metric_ms} ms",
            )
            out.append(lag.summary())
    finally:
        await redis.aclose()
    return out


async def run(
    config: Config, *, stack: Stack | None = None, namespace: str = "b", quiet: bool = False, command: str = ""
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Run the benchmark; returns the results and the paths of the files written."""
    started = datetime.now(UTC)
    directory = config.results_dir / started.strftime("%Y%m%dT%H%M%SZ")
    results: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "command": command,
        "machine": report.machine(),
        "config": {
            "scale": asdict(config.scale),
            "rates": list(config.rates),
            "step_seconds": config.step_seconds,
            "warmup_seconds": config.warmup_seconds,
            "mix": [list(m) for m in config.mix],
            "famous_followers": config.famous_followers,
            "active_fraction": config.active_fraction,
            "connections": config.connections,
        },
    }
    async with contextlib.AsyncExitStack() as exits:
        if stack is None:
            _say(quiet, f"starting a stack in {config.data_dir / config.scale.name}")
            stack = await exits.enter_async_context(_own_stack(config))
            data_dir: Path | None = stack.data_dir
        else:
            data_dir = None
        seeded = await seed(
            edge_url=stack.edge_url,
            mesh_addr=stack.mesh_addr,
            nats_url=stack.nats_url,
            scale=config.scale,
            namespace=namespace,
            data_dir=data_dir,
            concurrency=config.seed_concurrency,
            stall_seconds=config.stall_seconds,
            quiet=quiet,
        )
        results["seeding"] = {
            "timings": seeded.timings,
            "counts": seeded.counts,
            "reused": seeded.reused,
            "stuck_consumers": seeded.stuck,
            "retries": seeded.retries,
        }
        connector = aiohttp.TCPConnector(limit=config.connections)
        timeout = aiohttp.ClientTimeout(total=30)
        session = await exits.enter_async_context(aiohttp.ClientSession(connector=connector, timeout=timeout))
        logins = [g.usernames[i] for g in seeded.graphs.values() for i in g.logins]
        logged_in = await _login_all(session, stack.edge_url, logins)
        readers = [logged_in[g.usernames[i]] for g in seeded.graphs.values() for i in g.readers]
        rng = random.Random(config.scale.seed)
        authors = [g.usernames[i] for g in seeded.graphs.values() for i in g.posts]
        authors = rng.sample(authors, min(len(authors), _AUTHOR_SAMPLE))
        # Every reader's timeline is cached before the sweep: a first read's rebuild is not the steady state.
        for reader in readers:
            async with session.get(f"{stack.edge_url}/v1/timelines/home", headers=reader.headers) as answer:
                await answer.read()
        mixed = workload.mixed(stack.edge_url, readers, authors, weights=config.mix, seed=config.scale.seed)
        floor = workload.floor(stack.edge_url, readers, seed=config.scale.seed)
        _say(quiet, f"sweep: {', '.join(f'{r:g}' for r in config.rates)} req/s, {config.step_seconds:g}s each")
        results["steps"] = await _sweep(session, config, stack, mixed, floor, quiet=quiet)
        results["fanout_lag"] = (
            await _lags(session, config, stack, seeded, logged_in, quiet=quiet) if config.measure_lag else []
        )
        if config.profile:
            results["profile"] = await _profile(session, config, stack, mixed, directory / "profile", quiet=quiet)
    paths = report.write(results, directory)
    return results, paths
