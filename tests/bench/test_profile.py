"""Summaries of py-spy's collapsed stacks, and per-process CPU accounting."""

from __future__ import annotations

import os

from bench import cpu, profile


def test_summary_ranks_functions_by_inclusive_share_and_skips_the_event_loop() -> None:
    collapsed = "\n".join(
        [
            "<module> (x.py:1);Runner.run (asyncio/runners.py:118);read (svc.py:10);validate (pv.py:5) 60",
            "<module> (x.py:1);Runner.run (asyncio/runners.py:118);read (svc.py:10);query (db.py:7) 30",
            "<module> (x.py:1);Runner.run (asyncio/runners.py:118) 10",
        ]
    )
    text = profile.summarize(collapsed)
    lines = text.splitlines()
    assert lines[0].startswith("100 samples")
    ranked = [line.split("%", 1)[1].strip() for line in lines[1 : lines.index("self share (the function's own code):")]]
    assert ranked[:3] == ["read (svc.py)", "validate (pv.py)", "query (db.py)"]
    assert not any(r.startswith("Runner.run") for r in ranked)
    assert "   60.0%  validate (pv.py)" in text


def test_cpu_seconds_grow_with_work() -> None:
    me = {"self": os.getpid()}
    before = cpu.cpu_seconds(me, alone=("self",))
    sum(i * i for i in range(3_000_000))
    after = cpu.cpu_seconds(me, alone=("self",))
    assert after["self"] > before["self"]
    assert cpu.spent(before, after, 1.0)["self"] > 0
