"""The report: the Markdown table, the targets verdicts and the plot, from a results document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import report


def _stats(p50: float, p99: float, *, errors: int = 0) -> dict[str, Any]:
    return {
        "requests": 100,
        "errors": errors,
        "errors_by_status": {"503": errors} if errors else {},
        "throughput_rps": 99.0,
        "p50_ms": p50,
        "p90_ms": (p50 + p99) / 2,
        "p99_ms": p99,
        "max_ms": p99 * 2,
    }


def _results(*, home_p99: float, post_p99: float, lag_10k_ms: float | None) -> dict[str, Any]:
    def step(rate: float) -> dict[str, Any]:
        return {
            "offered_rps": rate,
            "mixed": {
                "max_send_lag_ms": 1.0,
                "endpoints": {
                    "home_timeline": _stats(10, home_p99),
                    "user_timeline": _stats(8, 20),
                    "post": _stats(15, post_p99),
                },
            },
            "floor": {"max_send_lag_ms": 1.0, "endpoints": {"ping": _stats(4, 9)}},
            "cores_used": {"mixed": {"tweet": 0.5, "timeline": 0.25, "loadgen": 0.2}, "floor": {}},
            "load_average": 1.5,
        }

    lag = {
        "author": "c",
        "followers": 10_000,
        "active": 10_000,
        "mode": "push",
        "post_ms": 20.0,
        "delivered_ms": {"50%": 100.0, "90%": 200.0, "99%": 300.0, "100%": lag_10k_ms},
        "delivered": 10_000 if lag_10k_ms is not None else 9_000,
        "timed_out": lag_10k_ms is None,
        "metric_ms": 280.0,
    }
    return {
        "started_at": "2026-01-01T00:00:00+00:00",
        "command": "python -m bench",
        "machine": {"cores": 2, "cpu_model": "CPU", "memory_gib": 24, "load_average_at_start": [0.1, 0.2, 0.3]},
        "config": {"scale": {"name": "moderate"}, "step_seconds": 30},
        "seeding": {
            "timings": dict.fromkeys(
                ("register_s", "users_s", "follows_s", "posts_s", "drain_s", "total_s", "api_s"), 1.0
            ),
            "counts": {"users": 10, "logins": 2, "follows": 20, "posts": 5},
            "reused": False,
            "stuck_consumers": {},
        },
        "steps": [step(500.0), step(1000.0)],
        "fanout_lag": [lag],
    }


def test_targets_are_judged_from_the_measurements() -> None:
    verdicts = {
        what: (value, met) for what, value, met in report.targets(_results(home_p99=40, post_p99=150, lag_10k_ms=800))
    }
    home = next(v for k, v in verdicts.items() if k.startswith("GET /v1/timelines/home p99"))
    post = next(v for k, v in verdicts.items() if k.startswith("POST /v1/tweets p99"))
    floor = next(v for k, v in verdicts.items() if "floor" in k)
    lag_10k = next(v for k, v in verdicts.items() if k.startswith("10,000-follower"))
    lag_100k = next(v for k, v in verdicts.items() if k.startswith("100,000-follower"))
    assert home == ("40.0 ms", True)
    assert post == ("150.0 ms", False)
    assert floor == ("2.5x", False)  # 10 ms against the floor's 4 ms
    assert lag_10k == ("800 ms (push)", True)
    assert lag_100k[1] is None


def test_a_timed_out_fanout_fails_its_target() -> None:
    verdicts = report.targets(_results(home_p99=40, post_p99=50, lag_10k_ms=None))
    assert ("timed out", False) in [(v, m) for w, v, m in verdicts if w.startswith("10,000-follower")]


def test_markdown_has_a_row_per_rate_and_endpoint(tmp_path: Path) -> None:
    text = report.markdown(_results(home_p99=40, post_p99=50, lag_10k_ms=800))
    assert "| 1000 | GET /v1/timelines/home | 99.0 | 10.0 | 25.0 | 40.0 | 80.0 | 0 |" in text
    assert "| 500 | GET /v1/timelines:ping (floor) | 99.0 | 4.0 | 6.5 | 9.0 | 18.0 | 0 |" in text
    assert "| 10,000 | 10,000 | push | 20.0 | 100.0 | 200.0 | 300.0 | 800.0 | 280.0 |" in text
    assert "| tweet | 0.50 |" in text


def test_write_makes_the_three_files(tmp_path: Path) -> None:
    paths = report.write(_results(home_p99=40, post_p99=50, lag_10k_ms=800), tmp_path / "run")
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths["json"].read_text().startswith("{")
    assert paths["markdown"].read_text().startswith("# Chirp benchmark")
