"""What one benchmark run does: the scale of the seeded graphs, the rate sweep, and where things go."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["SCALES", "Config", "Scale"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Scale:
    """The seeded data. Everything is derived deterministically from these numbers (and `seed`)."""

    name: str
    # socfb-Reed98, or only its first `reed98_users` users (the induced subgraph) at small scales.
    reed98_users: int | None
    reed98_readers: int
    reed98_posts_per_user: int
    # The synthetic power-law graph.
    users: int
    celebrity_followers: tuple[int, ...]
    follows_per_user: float
    powerlaw_readers: int
    powerlaw_posts: int
    seed: int = 1

    def fingerprint(self) -> str:
        """Names a seeded data set: a data directory seeded with the same fingerprint is reused as it is."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


SCALES: dict[str, Scale] = {
    # The smoke test's: the whole pipeline in seconds.
    "smoke": Scale(
        name="smoke",
        reed98_users=60,
        reed98_readers=4,
        reed98_posts_per_user=1,
        users=150,
        celebrity_followers=(20, 50, 100),
        follows_per_user=2.0,
        powerlaw_readers=4,
        powerlaw_posts=60,
    ),
    # A few minutes of seeding on a 2-core machine: all of Reed98, 1k- and 10k-follower authors.
    "moderate": Scale(
        name="moderate",
        reed98_users=None,
        reed98_readers=50,
        reed98_posts_per_user=2,
        users=12_000,
        celebrity_followers=(1_000, 10_000),
        follows_per_user=3.0,
        powerlaw_readers=50,
        powerlaw_posts=5_000,
    ),
    # What the issue asks for: 1k-, 10k- and 100k-follower authors among 101k users.
    "full": Scale(
        name="full",
        reed98_users=None,
        reed98_readers=100,
        reed98_posts_per_user=5,
        users=101_000,
        celebrity_followers=(1_000, 10_000, 100_000),
        follows_per_user=2.5,
        powerlaw_readers=100,
        powerlaw_posts=20_000,
    ),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    scale: Scale
    # Offered rates of the sweep, requests per second; each is run for `step_seconds`, mixed then floor.
    rates: tuple[float, ...] = (100, 250, 500, 1000)
    step_seconds: float = 30.0
    # Unmeasured load before each step, so a step does not start on cold connections.
    warmup_seconds: float = 2.0
    # The workload: (name, weight) — DeathStarBench's social-network mix.
    mix: tuple[tuple[str, float], ...] = (("home_timeline", 0.6), ("user_timeline", 0.3), ("post", 0.1))
    # Where the stack keeps its data; reused across runs when seeded with the same scale.
    data_dir: Path = Path(".chirp-bench")
    fresh: bool = False
    results_dir: Path = Path("bench/results")
    # CHIRP_FAMOUS_FOLLOWERS for the stack: above the largest celebrity, every author is pushed, so the lag
    # measurement times push delivery at every size; set it lower to measure the hybrid (pull) path.
    famous_followers: int | None = 1_000_000
    # Share of a celebrity's followers made active (given a cached timeline) before their post is timed.
    active_fraction: float = 1.0
    measure_lag: bool = True
    # Seconds to wait for one author's post to reach every active follower.
    lag_timeout: float = 60.0
    # Go on when the event backlog has not shrunk for this long (a consumer keeps failing).
    stall_seconds: float = 60.0
    # Sample the busiest services with py-spy during the highest-rate mixed step.
    profile: bool = False
    # Kept low: the mesh times calls out after 5 s, and a queue of writes behind one SQLite writer grows with it.
    seed_concurrency: int = 16
    # Open connections of the load generator (each an HTTP/1.1 keep-alive connection to the edge).
    connections: int = 256
    extra_env: dict[str, str] = field(default_factory=dict)
