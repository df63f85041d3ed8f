"""The seeded graphs: the real one loads as the dataset says, the synthetic one has the shape it promises."""

from __future__ import annotations

from collections import Counter

import numpy as np

from bench.graphs import Graph, power_law, reed98


def test_reed98_is_every_edge_both_ways() -> None:
    graph = reed98("t", readers=10, posts_per_user=2)
    assert len(graph.usernames) == 962
    assert len(graph.follows) == 37_624  # 18,812 undirected edges, per the dataset's README
    edges = set(graph.follows)
    assert all((b, a) in edges for a, b in edges)
    assert all(a != b for a, b in edges)
    assert len(graph.readers) == 10 and sum(graph.posts.values()) == 962 * 2


def test_reed98_subgraph_keeps_only_edges_among_its_users() -> None:
    graph = reed98("t", readers=2, posts_per_user=1, users=60)
    assert len(graph.usernames) == 60
    assert graph.follows and all(a < 60 and b < 60 for a, b in graph.follows)


def test_usernames_are_valid_handles_and_carry_the_namespace() -> None:
    for graph in (reed98("ab", readers=1, posts_per_user=0), _synthetic()):
        assert len(set(graph.usernames)) == len(graph.usernames)
        assert all(u.startswith("ab") and 1 <= len(u) <= 15 and u.isalnum() for u in graph.usernames)


def _synthetic() -> Graph:
    return power_law(
        "ab", users=3000, celebrity_followers=(100, 1000), follows_per_user=3, readers=20, posts=500, seed=7
    )


def test_power_law_celebrities_have_exactly_their_follower_counts() -> None:
    graph = power_law("ab", users=3000, celebrity_followers=(100, 1000), follows_per_user=3, readers=20, posts=500)
    in_degree = Counter(b for _, b in graph.follows)
    assert graph.celebrities == {0: 100, 1: 1000}
    assert in_degree[0] == 100 and in_degree[1] == 1000


def test_every_reader_follows_every_celebrity() -> None:
    graph = power_law("ab", users=3000, celebrity_followers=(100, 1000), follows_per_user=3, readers=20, posts=500)
    edges = set(graph.follows)
    assert all((r, c) in edges for r in graph.readers for c in graph.celebrities)
    assert not set(graph.readers) & set(graph.celebrities)


def test_follower_counts_are_heavy_tailed() -> None:
    graph = power_law("ab", users=20_000, celebrity_followers=(), follows_per_user=4, readers=0, posts=0)
    counts = np.array(sorted(Counter(b for _, b in graph.follows).values(), reverse=True))
    # A power law: the most followed account has hundreds of times the median's followers.
    assert counts[0] > 200 * np.median(counts)
    assert all(a != b for a, b in graph.follows)


def test_the_same_seed_gives_the_same_graph() -> None:
    def make() -> Graph:
        return power_law("ab", users=500, celebrity_followers=(50,), follows_per_user=2, readers=5, posts=50, seed=3)

    assert make() == make()
