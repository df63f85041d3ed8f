"""Kill every process of a stack with SIGKILL, one at a time, under a steady write load; time its recovery.

    .venv/bin/python -m bench.recovery                       # every process, ~3 minutes
    .venv/bin/python -m bench.recovery --only tweet,nats     # some of them

It starts a stack of its own (a temporary directory, free ports) and keeps writing through the REST API for
the whole run: authors post, and a follower likes every post it was told was created. For each process it
sends SIGKILL, then polls /healthz through the edge every 20 ms, and reports how long until /healthz said 503
(the supervisor noticed) and until it was 200 again (the process was restarted and serves; for the edge
itself, until it answers at all). At the end it checks that nothing acknowledged was lost: every post that
answered 200 can be read, is in the follower's home timeline (the newest 800 of them: what a home timeline
keeps), and counts exactly the likes that answered 200.
Writes that failed while something was down are counted, not retried: a client retries them.

Results go to `bench/results/<UTC time>/recovery.json`, and a table is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

from bench import report
from bench.rest import Reader, login, register
from services.timeline.cache import CAPACITY
from stack import Settings, Stack

__all__ = ["main"]

_POLL_S = 0.02


@dataclass(slots=True)
class Recovery:
    process: str
    kind: str
    noticed_s: float | None  # SIGKILL → /healthz 503 (None: never seen; it came back before a poll saw it)
    healthy_s: float | None  # SIGKILL → /healthz 200 again (None: not within the limit)


@dataclass(slots=True)
class Writes:
    posted: list[str] = field(default_factory=list)  # ids of posts that answered 200
    liked: set[str] = field(default_factory=set)  # ids of posts whose like answered 200
    failed_posts: int = 0
    failed_likes: int = 0


async def _write_steadily(
    session: aiohttp.ClientSession, base: str, author: Reader, fan: Reader, writes: Writes, *, rate: float,
    stop: asyncio.Event,
) -> None:  # fmt: skip
    async def one(n: int) -> None:
        body = {"text": f"recovery post {n}", "request_id": uuid.uuid4().hex}
        try:
            async with session.post(f"{base}/v1/tweets", json=body, headers=author.headers) as answer:
                if answer.status != 200:
                    writes.failed_posts += 1
                    return
                tweet_id = str((await answer.json())["id"])
        except aiohttp.ClientError:
            writes.failed_posts += 1
            return
        writes.posted.append(tweet_id)
        try:
            async with session.post(f"{base}/v1/tweets/{tweet_id}:like", headers=fan.headers) as answer:
                if answer.status == 200:
                    writes.liked.add(tweet_id)
                else:
                    writes.failed_likes += 1
        except aiohttp.ClientError:
            writes.failed_likes += 1

    tasks: set[asyncio.Task[None]] = set()
    n = 0
    start = time.monotonic()
    while not stop.is_set():
        task = asyncio.create_task(one(n))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
        # Open loop: the next write is due at start + n / rate, whatever the last one is doing.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, start + n / rate - time.monotonic()))
    if tasks:
        await asyncio.wait(tasks)


async def _healthz(session: aiohttp.ClientSession, url: str) -> int | None:
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as answer:
            return answer.status
    except (aiohttp.ClientError, TimeoutError):
        return None  # the edge itself is down


async def _kill_and_time(stack: Stack, session: aiohttp.ClientSession, name: str, *, limit: float) -> Recovery:
    url = f"{stack.edge_url}/healthz"
    process = stack.processes[name]
    pid = process.pid
    assert pid is not None
    kind = stack.health.parts[name].kind
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    noticed: float | None = None
    while time.monotonic() - killed < limit:
        status = await _healthz(session, url)
        now = time.monotonic() - killed
        if status != 200 and noticed is None:
            noticed = now
        # A 200 from before the process was restarted would be the old one's answer: wait for the new pid.
        if status == 200 and stack.processes[name].pid != pid:
            return Recovery(name, kind, noticed, now)
        await asyncio.sleep(_POLL_S)
    return Recovery(name, kind, noticed, None)


async def _lost(session: aiohttp.ClientSession, base: str, fan: Reader, writes: Writes) -> dict[str, Any]:
    """What the stack acknowledged and no longer has, once the events of the run have been delivered."""
    unreadable, miscounted = [], []
    for tweet_id in writes.posted:
        async with session.get(f"{base}/v1/tweets/{tweet_id}", headers=fan.headers) as answer:
            if answer.status != 200:
                unreadable.append(tweet_id)
                continue
            tweet = await answer.json()
        # A like refused with a 503 may still have been applied (the answer was what got lost): 0 or 1 then.
        expected = {1} if tweet_id in writes.liked else {0, 1}
        if int(tweet.get("like_count", 0)) not in expected:
            miscounted.append(tweet_id)
    home: set[str] = set()
    token = ""
    while True:
        params = {"page_size": "100", **({"page_token": token} if token else {})}
        async with session.get(f"{base}/v1/timelines/home", params=params, headers=fan.headers) as answer:
            page = await answer.json()
        home.update(str(tweet["id"]) for tweet in page.get("tweets", []))
        token = page.get("next_page_token", "")
        if not token:
            break
    # A home timeline holds its newest CAPACITY entries (older ones are trimmed, as Twitter's 800 were).
    newest = sorted(writes.posted, key=int)[-CAPACITY:]
    missing = [t for t in newest if t not in home]
    return {"unreadable": unreadable, "like_count_wrong": miscounted, "not_in_home_timeline": missing}


@contextlib.asynccontextmanager
async def _stack(data_dir: Path | None) -> AsyncIterator[Stack]:
    with contextlib.ExitStack() as cleanup:
        directory = data_dir or Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="chirp-recovery-")))
        settings = Settings(data_dir=directory, free_ports=True, rate_limit_per_second=0, log_level="WARNING")
        async with Stack(settings) as stack:
            yield stack


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    print("starting a stack…", file=sys.stderr, flush=True)
    async with _stack(args.data_dir) as stack, aiohttp.ClientSession() as session:
        base = stack.edge_url
        author, fan = f"author{uuid.uuid4().hex[:8]}", f"fan{uuid.uuid4().hex[:8]}"
        for name in (author, fan):
            await register(session, base, name)
        author_r, fan_r = await login(session, base, author), await login(session, base, fan)
        async with session.post(f"{base}/v1/users/{author}:follow", headers=fan_r.headers) as answer:
            assert answer.status == 200, await answer.text()
        names = [n for n in stack.processes if not args.only or n in args.only]
        writes, stop = Writes(), asyncio.Event()
        writer = asyncio.create_task(_write_steadily(session, base, author_r, fan_r, writes, rate=args.rate, stop=stop))
        recoveries = []
        for name in names:
            await asyncio.sleep(args.settle)
            result = await _kill_and_time(stack, session, name, limit=args.limit)
            shown = "not healthy" if result.healthy_s is None else f"healthy after {result.healthy_s:.2f}s"
            print(f"  {name:<15} {shown}", file=sys.stderr, flush=True)
            recoveries.append(result)
        await asyncio.sleep(args.settle)
        stop.set()
        await writer
        print(f"checking {len(writes.posted)} acknowledged posts…", file=sys.stderr, flush=True)
        deadline = time.monotonic() + 60
        while True:  # fan-out and counters are eventually consistent: give the events a minute to be delivered
            lost = await _lost(session, base, fan_r, writes)
            if not any(lost.values()) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
    return {
        "command": " ".join(["python", "-m", "bench.recovery", *sys.argv[1:]]),
        "machine": report.machine(),
        "write_rate": args.rate,
        "recoveries": [asdict(r) for r in recoveries],
        "posts_acknowledged": len(writes.posted),
        "likes_acknowledged": len(writes.liked),
        "posts_failed": writes.failed_posts,
        "likes_failed": writes.failed_likes,
        "lost": lost,
    }


def _table(results: dict[str, Any]) -> str:
    def s(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f} s"

    lines = ["| process | kind | kill → /healthz 503 | kill → /healthz 200 |", "|---|---|---|---|"]
    lines += [
        f"| {r['process']} | {r['kind']} | {s(r['noticed_s'])} | {s(r['healthy_s'])} |" for r in results["recoveries"]
    ]
    lost = results["lost"]
    lines += [
        "",
        f"writes at {results['write_rate']:g}/s: {results['posts_acknowledged']} posts and "
        f"{results['likes_acknowledged']} likes acknowledged, {results['posts_failed']} posts and "
        f"{results['likes_failed']} likes refused while something was down; lost: "
        f"{len(lost['unreadable'])} unreadable, {len(lost['not_in_home_timeline'])} missing from the follower's "
        f"home timeline, {len(lost['like_count_wrong'])} with a wrong like count",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recovery", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", type=lambda raw: set(raw.split(",")), default=None, help="processes to kill")
    parser.add_argument("--rate", type=float, default=5.0, help="posts per second during the run (default 5)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds between kills (default 3)")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds a process gets to recover (default 60)")
    parser.add_argument("--data-dir", type=Path, default=None, help="stack data (default: a temporary directory)")
    parser.add_argument("--results-dir", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    if args.rate <= 0:
        parser.error("--rate must be positive")
    results = uvloop.run(_main(args))
    directory = args.results_dir / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "recovery.json").write_text(json.dumps(results, indent=2) + "\n")
    print(_table(results))
    print(f"results: {directory / 'recovery.json'}", file=sys.stderr)
    lost = results["lost"]
    healthy = all(r["healthy_s"] is not None for r in results["recoveries"])
    return 0 if healthy and not any(lost.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
