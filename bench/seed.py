"""Seeding the graphs into a running stack through Chirp's own APIs, timed, and reusable across runs.

Accounts that must log in (readers, timed authors) are registered through the public REST API — argon2 makes
each take ~100 ms, so there are few. Everyone else, every follow and every seeded post goes through the
internal RPCs over the mesh (UserService.CreateUser, GraphService.Follow, TweetService.CreateTweet) acting as
the user, many at once, so every side effect (events, counters, fan-out) happens as in production. The ids
are written to `<data dir>/bench-seed.json` at the end; a later run on the same data directory with the same
scale finds it and skips seeding.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench import events, graphs, rest
from bench.config import Scale
from bench.graphs import Graph
from bench.mesh import Mesh
from bench.pool import run_all

__all__ = ["MANIFEST", "Seeded", "build_graphs", "seed"]

MANIFEST = "bench-seed.json"
_WORDS = (
    "chirp timeline latency fanout tail open loop envoy valkey nats sqlite graph follow post read cache warm "
    "cold queue shard merge pull push famous active passive snowflake cursor page batch pipeline hello world"
).split()
_TAGS = ("#bench", "#chirp", "#latency", "#python", "#envoy")
_REGISTER_CONCURRENCY = 4  # argon2 is CPU-bound: more only queues on 2 cores
_DRAIN_TIMEOUT_S = 1800.0


@dataclass
class Seeded:
    graphs: dict[str, Graph]
    # User ids by graph name, by index into the graph's usernames.
    ids: dict[str, list[int]]
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    reused: bool = False
    # Event consumers that stopped making progress while seeding (see events.wait_drained).
    stuck: dict[str, int] = field(default_factory=dict)
    # Calls retried after a transient failure, by gRPC status.
    retries: dict[str, int] = field(default_factory=dict)

    def user_id(self, graph: str, index: int) -> int:
        return self.ids[graph][index]


def build_graphs(scale: Scale, namespace: str) -> dict[str, Graph]:
    reed = graphs.reed98(
        namespace,
        readers=scale.reed98_readers,
        posts_per_user=scale.reed98_posts_per_user,
        users=scale.reed98_users,
        seed=scale.seed,
    )
    synthetic = graphs.power_law(
        namespace,
        users=scale.users,
        celebrity_followers=scale.celebrity_followers,
        follows_per_user=scale.follows_per_user,
        readers=scale.powerlaw_readers,
        posts=scale.powerlaw_posts,
        seed=scale.seed,
    )
    return {reed.name: reed, synthetic.name: synthetic}


def text(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(4, 16))
    if rng.random() < 0.3:
        words.append(rng.choice(_TAGS))
    return " ".join(words)


async def seed(
    *,
    edge_url: str,
    mesh_addr: str,
    nats_url: str,
    scale: Scale,
    namespace: str,
    data_dir: Path | None,
    concurrency: int = 16,
    stall_seconds: float = 60.0,
    quiet: bool = False,
) -> Seeded:
    """Seed both graphs of `scale` (or reuse what `data_dir` already holds); wait until events are drained."""
    built = build_graphs(scale, namespace)
    manifest = data_dir / MANIFEST if data_dir is not None else None
    if manifest is not None and manifest.exists():
        saved = json.loads(manifest.read_text())
        if saved.get("fingerprint") == scale.fingerprint() and saved.get("namespace") == namespace:
            _say(quiet, f"reusing the data seeded in {manifest.parent} ({saved['timings']['total_s']:.0f}s to seed)")
            return Seeded(
                graphs=built,
                ids=saved["ids"],
                timings=saved["timings"],
                counts=saved["counts"],
                retries=saved.get("retries", {}),
                reused=True,
            )
        raise SystemExit(
            f"{manifest.parent} holds data seeded at another scale; use another --data-dir or --fresh to wipe it"
        )

    timings: dict[str, float] = {}
    retries: Counter[str] = Counter()
    began = time.monotonic()
    ids: dict[str, list[int]] = {name: [0] * len(g.usernames) for name, g in built.items()}
    logins = [(name, i) for name, g in built.items() for i in g.logins]
    login_sets = {name: set(g.logins) for name, g in built.items()}
    bulk = [(name, i) for name, g in built.items() for i in range(len(g.usernames)) if i not in login_sets[name]]
    follows = [(name, a, b) for name, g in built.items() for a, b in g.follows]
    rng = random.Random(scale.seed)
    posts = [(name, i, k) for name, g in built.items() for i, n in g.posts.items() for k in range(n)]
    rng.shuffle(posts)  # interleave authors, as real posting does
    _say(
        quiet,
        f"seeding {sum(len(g.usernames) for g in built.values()):,} users ({len(logins)} who log in), "
        f"{len(follows):,} follows, {len(posts):,} posts",
    )

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session, Mesh(mesh_addr) as mesh:

        async def register(item: tuple[str, int]) -> None:
            name, i = item
            await rest.register(session, edge_url, built[name].usernames[i])
            ids[name][i] = await mesh.lookup_user(built[name].usernames[i])

        async def create(item: tuple[str, int]) -> None:
            name, i = item
            ids[name][i] = await mesh.create_user(built[name].usernames[i])

        async def follow(item: tuple[str, int, int]) -> None:
            name, a, b = item
            await mesh.follow(ids[name][a], built[name].usernames[b])

        async def post(item: tuple[str, int, int]) -> None:
            name, i, k = item
            author = built[name].usernames[i]
            await mesh.post(ids[name][i], text(random.Random(f"{author}/{k}")), request_id=f"seed-{author}-{k}")

        _, timings["register_s"] = await run_all(
            logins, register, concurrency=_REGISTER_CONCURRENCY, label="register (REST)", quiet=quiet, retries=retries
        )
        _, timings["users_s"] = await run_all(
            bulk, create, concurrency=concurrency, label="users", quiet=quiet, retries=retries
        )
        _, timings["follows_s"] = await run_all(
            follows, follow, concurrency=concurrency, label="follows", quiet=quiet, retries=retries
        )
        _, timings["posts_s"] = await run_all(
            posts, post, concurrency=concurrency, label="posts", quiet=quiet, retries=retries
        )
    timings["api_s"] = time.monotonic() - began
    timings["drain_s"], stuck = await events.wait_drained(
        nats_url, within=_DRAIN_TIMEOUT_S, stalled_after=stall_seconds, quiet=quiet
    )
    timings["total_s"] = time.monotonic() - began
    counts = {"users": len(logins) + len(bulk), "logins": len(logins), "follows": len(follows), "posts": len(posts)}
    if retries:
        _say(quiet, f"calls retried after a transient failure: {dict(retries)}")
    if stuck:
        # Not a seeding to reuse: what the stuck consumers owe was never applied.
        manifest = None
    _say(quiet, f"seeded in {timings['total_s']:.1f}s ({timings['drain_s']:.1f}s of it waiting for events)")
    if manifest is not None:
        manifest.write_text(
            json.dumps(
                {
                    "fingerprint": scale.fingerprint(),
                    "namespace": namespace,
                    "ids": ids,
                    "timings": timings,
                    "counts": counts,
                    "retries": retries,
                }
            )
        )
    return Seeded(graphs=built, ids=ids, timings=timings, counts=counts, stuck=stuck, retries=dict(retries))


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)
