"""The requests the load generator sends: DeathStarBench's social-network mix, and the no-op floor.

Each action acts as a random logged-in reader. The mix is 60% GET /v1/timelines/home, 30% GET
/v1/users/{username}/tweets of a random seeded author, 10% POST /v1/tweets; the floor is GET
/v1/timelines:ping — authenticated, transcoded and routed exactly like the home timeline, doing nothing.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Sequence

import aiohttp

from bench.loadgen import Action, Mix
from bench.rest import Reader
from bench.seed import text

__all__ = ["ENDPOINTS", "floor", "mixed"]

# Endpoint name -> what it is, for reports.
ENDPOINTS = {
    "home_timeline": "GET /v1/timelines/home",
    "user_timeline": "GET /v1/users/{username}/tweets",
    "post": "POST /v1/tweets",
    "ping": "GET /v1/timelines:ping (floor)",
}


async def _status(answer: aiohttp.ClientResponse) -> int:
    await answer.read()
    return answer.status


def mixed(
    base: str,
    readers: Sequence[Reader],
    authors: Sequence[str],
    *,
    weights: Sequence[tuple[str, float]],
    seed: int = 0,
) -> Mix:
    rng = random.Random(seed)
    serial = itertools.count()
    # Unique to this run: a request id seen before is answered from the idempotency record without a new
    # tweet, so a second run on the same data (same seeds) measured replays, not posts (found by their missing
    # fan-out and indexing CPU).
    run = uuid.uuid4().hex[:12]

    async def home_timeline(session: aiohttp.ClientSession) -> int:
        reader = rng.choice(readers)
        async with session.get(f"{base}/v1/timelines/home", headers=reader.headers) as answer:
            return await _status(answer)

    async def user_timeline(session: aiohttp.ClientSession) -> int:
        reader, author = rng.choice(readers), rng.choice(authors)
        async with session.get(f"{base}/v1/users/{author}/tweets", headers=reader.headers) as answer:
            return await _status(answer)

    async def post(session: aiohttp.ClientSession) -> int:
        reader = rng.choice(readers)
        body = {"text": text(rng), "request_id": f"bench-{run}-{next(serial)}"}
        async with session.post(f"{base}/v1/tweets", json=body, headers=reader.headers) as answer:
            return await _status(answer)

    actions: dict[str, Action] = {"home_timeline": home_timeline, "user_timeline": user_timeline, "post": post}
    return Mix([(name, weight, actions[name]) for name, weight in weights])


def floor(base: str, readers: Sequence[Reader], *, seed: int = 0) -> Mix:
    rng = random.Random(seed)

    async def ping(session: aiohttp.ClientSession) -> int:
        reader = rng.choice(readers)
        async with session.get(f"{base}/v1/timelines:ping", headers=reader.headers) as answer:
            return await _status(answer)

    return Mix([("ping", 1.0, ping)])
