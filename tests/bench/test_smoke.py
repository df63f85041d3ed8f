"""`make bench` end to end at a tiny scale, against the test session's stack: seed both graphs through the
APIs, sweep two rates with the floor, time fan-out to three authors, and write the JSON, Markdown and PNG."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from bench.config import SCALES, Config
from bench.run import run
from bench.seed import build_graphs
from stack import Stack

pytestmark = pytest.mark.asyncio(loop_scope="session")

_ENDPOINTS = {"home_timeline", "user_timeline", "post"}


async def test_the_whole_benchmark_at_a_tiny_scale(stack: Stack, tmp_path: Path) -> None:
    config = Config(
        scale=SCALES["smoke"],
        rates=(20, 40),
        step_seconds=1.5,
        warmup_seconds=0.3,
        results_dir=tmp_path,
        lag_timeout=15,
        # The session stack is shared: another test's failing consumer must not hold this one up for long.
        stall_seconds=3,
    )
    namespace = "s" + uuid.uuid4().hex[:3]
    results, paths = await run(config, stack=stack, namespace=namespace, quiet=True)

    graphs = build_graphs(config.scale, namespace)
    assert results["seeding"]["counts"] == {
        "users": sum(len(g.usernames) for g in graphs.values()),
        "logins": sum(len(g.logins) for g in graphs.values()),
        "follows": sum(len(g.follows) for g in graphs.values()),
        "posts": sum(sum(g.posts.values()) for g in graphs.values()),
    }

    assert [s["offered_rps"] for s in results["steps"]] == [20.0, 40.0]
    for step in results["steps"]:
        mixed, floor = step["mixed"]["endpoints"], step["floor"]["endpoints"]
        assert set(mixed) == _ENDPOINTS and set(floor) == {"ping"}
        assert sum(e["requests"] for e in mixed.values()) == int(step["offered_rps"] * config.step_seconds)
        for name, stats in {**mixed, **floor}.items():
            assert stats["errors"] == 0, (name, stats["errors_by_status"])
            assert stats["p50_ms"] is not None and 0 < stats["p50_ms"] <= stats["p99_ms"] <= stats["max_ms"]
        assert floor["ping"]["requests"] == int(step["offered_rps"] * config.step_seconds)
        assert step["cores_used"]["mixed"]["timeline"] > 0

    lags = results["fanout_lag"]
    assert [lag["followers"] for lag in lags] == [20, 50, 100]
    for lag in lags:
        assert lag["mode"] == "push" and not lag["timed_out"]
        assert lag["delivered"] == lag["active"] == lag["followers"]
        assert 0 < lag["delivered_ms"]["50%"] <= lag["delivered_ms"]["100%"]

    assert json.loads(paths["json"].read_text())["steps"] == results["steps"]
    table = paths["markdown"].read_text()
    assert "| 40 | GET /v1/timelines/home |" in table and "GET /v1/timelines:ping (floor)" in table
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
