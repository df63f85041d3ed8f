"""The social graphs the benchmark seeds: the real socfb-Reed98 graph and a synthetic power-law one.

A graph here is plain data — usernames by index, follow edges as index pairs, which accounts log in (readers
and the authors whose posts we time), how many posts each account seeds — so it can be built, checked and
tested without a running stack. Usernames carry a short namespace so that several seedings can share one
stack (the smoke test runs in the test session's stack).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["REED98", "Graph", "power_law", "reed98"]

# A copy of ../shared/datasets/socfb-Reed98, kept in the repository so that a fresh clone anywhere can run the
# benchmark (the Network Data Repository's acknowledgement is in its README).
REED98 = Path(__file__).resolve().parent / "data" / "socfb-Reed98"


@dataclass(frozen=True, slots=True)
class Graph:
    name: str
    usernames: tuple[str, ...]
    # (follower, followee), by index into `usernames`.
    follows: tuple[tuple[int, int], ...]
    # Accounts registered through the public API so they can log in: the readers the workload drives and the
    # authors whose posts are timed. Everyone else is created through the internal UserService.CreateUser.
    readers: tuple[int, ...]
    # Authors for the fan-out lag measurement, by their exact follower count.
    celebrities: dict[int, int]
    # Seeded posts per account, by index (accounts absent post nothing).
    posts: dict[int, int]

    @property
    def logins(self) -> tuple[int, ...]:
        return tuple(sorted({*self.readers, *self.celebrities}))

    def followers(self, index: int) -> list[int]:
        return [a for a, b in self.follows if b == index]

    def summary(self) -> dict[str, int]:
        return {
            "users": len(self.usernames),
            "follows": len(self.follows),
            "readers": len(self.readers),
            "posts": sum(self.posts.values()),
        }


def reed98(
    namespace: str,
    *,
    readers: int,
    posts_per_user: int,
    users: int | None = None,
    path: Path = REED98,
    seed: int = 0,
) -> Graph:
    """socfb-Reed98: 962 users, each undirected edge a follow both ways; `readers` random users log in.

    With `users`, only the subgraph of the first `users` users (for smoke runs).
    """
    count = int((path / "socfb-Reed98.nodes").read_text().split()[0])
    if users is not None:
        count = min(count, users)
    edges: set[tuple[int, int]] = set()
    for line in (path / "socfb-Reed98.edges").read_text().splitlines():
        parts = line.split()
        if len(parts) < 2 or parts[0].startswith(("%", "#")):
            continue
        a, b = int(parts[0]), int(parts[1])
        if a != b and a < count and b < count:
            edges.add((a, b))
            edges.add((b, a))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(count, size=min(readers, count), replace=False)
    return Graph(
        name="reed98",
        usernames=tuple(f"{namespace}r{i:05d}" for i in range(count)),
        follows=tuple(sorted(edges)),
        readers=tuple(sorted(int(i) for i in chosen)),
        celebrities={},
        posts={i: posts_per_user for i in range(count)},
    )


def power_law(
    namespace: str,
    *,
    users: int,
    celebrity_followers: Sequence[int],
    follows_per_user: float,
    readers: int,
    posts: int,
    alpha: float = 1.0,
    seed: int = 0,
) -> Graph:
    """A synthetic graph whose follower counts follow a power law, plus celebrities of exact sizes.

    Accounts 0..k-1 are the celebrities, followed by exactly `celebrity_followers[i]` random other users (capped
    at everyone). Every other user follows 1 + Poisson(`follows_per_user` - 1) accounts drawn by Zipf's law
    (weight 1 / rank^alpha) over a random popularity order of the non-celebrities, which gives the heavy-tailed
    in-degree of real networks. `posts` seeded tweets go to authors drawn in proportion to their follower
    count (so they land in many timelines), and each celebrity posts a few. Readers are random
    non-celebrities who follow someone, and every reader also follows every celebrity, so the workload's home
    timelines see celebrity tweets (pushed or pulled).
    """
    rng = np.random.default_rng(seed)
    k = len(celebrity_followers)
    ordinary = np.arange(k, users)
    follows: set[tuple[int, int]] = set()
    for c, wanted in enumerate(celebrity_followers):
        for f in rng.choice(ordinary, size=min(wanted, len(ordinary)), replace=False):
            follows.add((int(f), c))
    popularity = rng.permutation(ordinary)
    weights = 1.0 / np.arange(1, len(popularity) + 1) ** alpha
    weights /= weights.sum()
    out_degrees = 1 + rng.poisson(max(follows_per_user - 1.0, 0.0), size=len(ordinary))
    targets = popularity[rng.choice(len(popularity), size=int(out_degrees.sum()), p=weights)]
    followers_of = np.repeat(ordinary, out_degrees)
    for a, b in zip(followers_of.tolist(), targets.tolist(), strict=True):
        if a != b:
            follows.add((a, b))
    chosen = [int(i) for i in rng.choice(ordinary, size=min(readers, len(ordinary)), replace=False)]
    # Exact celebrity sizes: a reader who was not among a celebrity's sampled followers takes the place of one
    # who was not a reader.
    for c, _ in enumerate(celebrity_followers):
        current = {a for a, b in follows if b == c}
        for r in chosen:
            if r not in current:
                swap = next((f for f in current if f not in chosen), None)
                if swap is not None:
                    follows.discard((swap, c))
                    current.discard(swap)
                follows.add((r, c))
                current.add(r)
    in_degree = np.bincount([b for _, b in follows], minlength=users).astype(float)
    in_degree[:k] = 0
    post_counts: dict[int, int] = {c: 3 for c in range(k)}
    if posts and in_degree.sum():
        authors = rng.choice(users, size=posts, p=in_degree / in_degree.sum())
        for a in authors.tolist():
            post_counts[a] = post_counts.get(a, 0) + 1
    return Graph(
        name="powerlaw",
        usernames=tuple(f"{namespace}p{i:06d}" for i in range(users)),
        follows=tuple(sorted(follows)),
        readers=tuple(sorted(chosen)),
        celebrities={c: sum(1 for _, b in follows if b == c) for c in range(k)},
        posts=post_counts,
    )
