"""Live delivery: how long a like takes to reach the liked author's open notification stream.

    .venv/bin/python -m bench.live [--likes 300] [--pause 0.1]

Starts a stack of its own (every service, free ports, in a temporary directory unless `--data-dir` is
given), registers an author and a fan through REST, and opens `GET /v1/notifications:stream` as the author,
the way a browser's EventSource does. The author posts `--likes` tweets; the fan then likes them one at a
time, a random pause (mean `--pause` seconds) apart so that the likes land at every point of the consumers'
fetch cycles, and each like is timed from sending `POST /v1/tweets/{id}:like` until its notification arrives
on the stream. A plain NATS subscriber on `chirp.engagement.liked` splits that time in two: until the like's
event is published (the engagement service's outbox) and from there to the stream (the notification
consumer, the hub, the edge). Reports p50/p90/p99/max of each, of the POST alone, and how many likes took over
a second; the numbers also go to `<results-dir>/<UTC time>/live.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import random
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import nats
import numpy as np
import uvloop
from chirp.engagement.v1.engagement_events_pb2 import TweetLiked
from nats.aio.msg import Msg

from bench import report, rest
from bench.rest import Reader
from bench.standalone import own_stack, save

__all__ = ["Measured", "measure", "summarize"]

_EVENT_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class Measured:
    """One like: milliseconds from sending the POST until its answer, its event's publication, and its
    notification on the stream."""

    post_ms: float
    published_ms: float | None  # None: not seen on NATS within the timeout
    event_ms: float | None  # None: no notification within the timeout


class _Arrivals:
    """When something about each tweet arrived (monotonic seconds), for whoever waits for it."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[float]] = {}

    def expect(self, tweet_id: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[tweet_id] = future
        return future

    def arrived(self, tweet_id: str, at: float) -> None:
        future = self._waiting.pop(tweet_id, None)
        if future is not None and not future.done():
            future.set_result(at)


class _Stream(_Arrivals):
    """The author's notification stream: when each tweet's LIKE notification arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.first = asyncio.Event()  # the opening message (the unread count) arrived: the stream is live

    async def read(self, answer: aiohttp.ClientResponse) -> None:
        data: list[str] = []
        async for raw in answer.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("data:"):
                data.append(line[5:].strip())
                continue
            if line or not data:
                continue
            arrived = time.monotonic()
            message: dict[str, Any] = json.loads("\n".join(data))
            data.clear()
            self.first.set()
            tweet = (message.get("notification") or {}).get("tweet") or {}
            self.arrived(str(tweet.get("id", "")), arrived)


@contextlib.asynccontextmanager
async def _open_stream(session: aiohttp.ClientSession, base: str, author: Reader) -> AsyncIterator[_Stream]:
    stream = _Stream()
    async with session.get(
        f"{base}/v1/notifications:stream",
        params={"access_token": author.token},
        timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
    ) as answer:
        if answer.status != 200:
            raise rest.ApiError(f"notification stream: HTTP {answer.status}", status=answer.status)
        reader = asyncio.create_task(stream.read(answer))
        try:
            await asyncio.wait_for(stream.first.wait(), _EVENT_TIMEOUT_S)
            yield stream
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def _like(session: aiohttp.ClientSession, base: str, fan: Reader, tweet_id: str) -> None:
    async with session.post(f"{base}/v1/tweets/{tweet_id}:like", headers=fan.headers) as answer:
        if answer.status != 200:
            raise rest.ApiError(f"like {tweet_id}: HTTP {answer.status}: {await answer.text()}", status=answer.status)


@contextlib.asynccontextmanager
async def _published(nats_url: str) -> AsyncIterator[_Arrivals]:
    """When each like's chirp.engagement.liked event went out (a core subscription sees JetStream's publishes)."""
    arrivals = _Arrivals()

    async def seen(msg: Msg) -> None:
        arrivals.arrived(str(TweetLiked.FromString(msg.data).tweet_id), time.monotonic())

    nc = await nats.connect(nats_url)
    try:
        await nc.subscribe("chirp.engagement.liked", cb=seen)
        await nc.flush()
        yield arrivals
    finally:
        await nc.close()


async def _within(future: asyncio.Future[float], seconds: float) -> float | None:
    try:
        return await asyncio.wait_for(future, seconds)
    except TimeoutError:
        return None


def _since(start: float, at: float | None) -> float | None:
    return None if at is None else (at - start) * 1000


async def measure(base: str, nats_url: str, *, likes: int, pause: float, seed: int = 1) -> list[Measured]:
    """Time `likes` likes, each from its POST until its notification is on the liked author's stream."""
    rng = random.Random(seed)
    tag = f"{int(time.time()) % 1_000_000:06d}"
    async with aiohttp.ClientSession() as session:
        for who in ("author", "fan"):
            await rest.register(session, base, f"lv{who}{tag}")  # usernames are at most 15 characters
        author = await rest.login(session, base, f"lvauthor{tag}")
        fan = await rest.login(session, base, f"lvfan{tag}")
        # A tweet per like: each like is a new notification, not an update of one grouped notification.
        tweets = [str(await rest.post_tweet(session, base, author, f"live delivery {n}")) for n in range(likes)]
        out = []
        async with _open_stream(session, base, author) as stream, _published(nats_url) as published:
            for tweet_id in tweets:
                await asyncio.sleep(rng.expovariate(1 / pause) if pause > 0 else 0)
                on_stream, on_nats = stream.expect(tweet_id), published.expect(tweet_id)
                sent = time.monotonic()
                await _like(session, base, fan, tweet_id)
                answered = time.monotonic()
                event_at = await _within(on_stream, _EVENT_TIMEOUT_S)
                published_at = await _within(on_nats, 1.0)  # came before the notification, if at all
                out.append(Measured((answered - sent) * 1000, _since(sent, published_at), _since(sent, event_at)))
        return out


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None}
    p50, p90, p99 = (float(v) for v in np.percentile(values, [50, 90, 99]))
    return {"p50_ms": p50, "p90_ms": p90, "p99_ms": p99, "max_ms": max(values)}


def summarize(measured: list[Measured]) -> dict[str, Any]:
    """Percentiles of like → event, of its two parts and of the POST alone; the counts of slow and missing events."""
    events = [m.event_ms for m in measured if m.event_ms is not None]
    split = [(m.published_ms, m.event_ms) for m in measured if m.published_ms is not None and m.event_ms is not None]
    return {
        "likes": len(measured),
        "like_to_event": _percentiles(events),
        "like_to_published": _percentiles([p for p, _ in split]),
        "published_to_event": _percentiles([e - p for p, e in split]),
        "post": _percentiles([m.post_ms for m in measured]),
        "over_1s": sum(e > 1000 for e in events),
        "missing": len(measured) - len(events),
    }


def _table(summary: dict[str, Any]) -> str:
    def row(name: str, stats: dict[str, float | None]) -> str:
        keys = ("p50_ms", "p90_ms", "p99_ms", "max_ms")
        cells = " | ".join("—" if stats[k] is None else f"{stats[k]:.1f}" for k in keys)
        return f"| {name} | {cells} |"

    return "\n".join(
        [
            f"Live delivery over {summary['likes']} likes "
            f"({summary['over_1s']} over 1 s, {summary['missing']} missing)",
            "",
            "| ms | p50 | p90 | p99 | max |",
            "|---|---:|---:|---:|---:|",
            row("like → event on the stream", summary["like_to_event"]),
            row("… like → event published (outbox)", summary["like_to_published"]),
            row("… published → on the stream", summary["published_to_event"]),
            row("the POST :like alone", summary["post"]),
        ]
    )


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    print("starting a stack…", file=sys.stderr, flush=True)
    async with own_stack(args.data_dir, name="live") as stack:
        print(f"stack ready; timing {args.likes} likes", file=sys.stderr, flush=True)
        measured = await measure(stack.edge_url, stack.nats_url, likes=args.likes, pause=args.pause)
    return {
        "command": " ".join(["python", "-m", "bench.live", *sys.argv[1:]]),
        "machine": report.machine(),
        "pause_s": args.pause,
        **summarize(measured),
        "samples": [dataclasses.asdict(m) for m in measured],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.split("\n\n")[0])
    parser.add_argument("--likes", type=int, default=300, help="likes to time (default 300)")
    parser.add_argument("--pause", type=float, default=0.1, help="mean seconds between likes (default 0.1)")
    parser.add_argument("--data-dir", type=Path, default=None, help="stack data (default: a temporary directory)")
    parser.add_argument("--results-dir", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    if args.likes < 1 or args.pause < 0:
        parser.error("--likes must be positive and --pause not negative")
    results = uvloop.run(_main(args))
    path = save(results, args.results_dir, "live")
    print(_table(results))
    print(f"results: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
