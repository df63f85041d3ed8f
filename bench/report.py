"""A run's results as JSON, a Markdown table and a PNG plot of latency against offered load."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from bench.workload import ENDPOINTS

__all__ = ["machine", "markdown", "plot", "targets", "write"]

_COLORS = {"home_timeline": "tab:blue", "user_timeline": "tab:green", "post": "tab:red", "ping": "tab:gray"}


def machine() -> dict[str, Any]:
    """What the numbers were measured on — and how busy it already was."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {
        "cores": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "memory_gib": memory_gib,
        "system": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": list(os.getloadavg()),
    }


def _rows(results: dict[str, Any]) -> list[tuple[float, str, dict[str, Any]]]:
    rows = []
    for step in results["steps"]:
        for part in ("mixed", "floor"):
            if part in step:
                for name, stats in step[part]["endpoints"].items():
                    rows.append((step["offered_rps"], name, stats))
    return rows


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """The issue's targets, each with what was measured and whether it was met (None: not measured)."""
    out: list[tuple[str, str, bool | None]] = []
    at = {(rate, name): stats for rate, name, stats in _rows(results)}
    top = max((s["offered_rps"] for s in results["steps"]), default=None)
    for name, limit in (("home_timeline", 50.0), ("post", 100.0)):
        stats = at.get((1000.0, name))
        what = f"{ENDPOINTS[name]} p99 < {limit:.0f} ms at 1,000 req/s mixed"
        if stats is None:
            out.append((what, "not run at 1,000 req/s", None))
        else:
            p99 = stats["p99_ms"]
            out.append((what, f"{_ms(p99)} ms", p99 is not None and p99 < limit and stats["errors"] == 0))
    if top is not None:
        home, ping = at.get((top, "home_timeline")), at.get((top, "ping"))
        if home and ping and home["p50_ms"] is not None and ping["p50_ms"]:
            ratio = home["p50_ms"] / ping["p50_ms"]
            out.append((f"home timeline p50 at most 2x the floor's (at {top:g} req/s)", f"{ratio:.1f}x", ratio <= 2))
    for followers, limit_ms in ((10_000, 1000.0), (100_000, 5000.0)):
        lag = next((x for x in results.get("fanout_lag", []) if x["followers"] == followers), None)
        what = f"{followers:,}-follower post in every active follower's timeline within {limit_ms / 1000:g} s"
        if lag is None:
            out.append((what, "not measured at this scale", None))
        else:
            done = lag["delivered_ms"]["100%"]
            value = "timed out" if done is None else f"{done:.0f} ms ({lag['mode']})"
            out.append((what, value, done is not None and done < limit_ms))
    return out


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"# Chirp benchmark — {results['started_at']}",
        "",
        f"`{results['command']}`",
        "",
        f"Machine: {m['cores']} cores, {m['cpu_model']}, {m['memory_gib']} GiB; load average at start "
        f"{', '.join(f'{x:.2f}' for x in m['load_average_at_start'])}. Scale `{results['config']['scale']['name']}`, "
        f"{results['config']['step_seconds']:g} s per step.",
        "",
        "## Seeding",
        "",
    ]
    seeding = results["seeding"]
    counts = seeding["counts"]
    t = seeding["timings"]
    lines += [
        "| users | log-ins (REST) | follows | posts | register | users | follows | posts | events drain | total |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {counts['users']:,} | {counts['logins']:,} | {counts['follows']:,} | {counts['posts']:,} "
        f"| {t['register_s']:.1f} s | {t['users_s']:.1f} s | {t['follows_s']:.1f} s | {t['posts_s']:.1f} s "
        f"| {t['drain_s']:.1f} s | {t['total_s']:.1f} s |",
        "",
    ]
    if seeding.get("retries"):
        lines += [f"Calls retried after a transient failure, by status: {seeding['retries']}.", ""]
    if seeding.get("reused"):
        lines += ["(Reused an already seeded data directory; the times are those of its seeding.)", ""]
    lines += [
        "## Latency against offered load",
        "",
        "Latency is measured from each request's due time (open loop, no coordinated omission), in ms.",
        "",
        "| offered req/s | endpoint | achieved req/s | p50 | p90 | p99 | max | errors |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for rate, name, s in _rows(results):
        errors = f"{s['errors']}" + (f" {s['errors_by_status']}" if s["errors"] else "")
        lines.append(
            f"| {rate:g} | {ENDPOINTS.get(name, name)} | {s['throughput_rps']:.1f} | {_ms(s['p50_ms'])} "
            f"| {_ms(s['p90_ms'])} | {_ms(s['p99_ms'])} | {_ms(s['max_ms'])} | {errors} |"
        )
    loads = [
        f"{step['offered_rps']:g}: {step['load_average']:.1f}" for step in results["steps"] if "load_average" in step
    ]
    if loads:
        lines += ["", f"Load average (1 min) after each step, by offered req/s: {', '.join(loads)}."]
    stuck = {k: v for step in results["steps"] for k, v in step.get("stuck_consumers", {}).items()}
    stuck.update(results["seeding"].get("stuck_consumers", {}))
    if stuck:
        lines += ["", f"WARNING: event consumers stopped making progress (messages owed): {stuck}."]
    lagging = [
        f"{step['offered_rps']:g} req/s ({step['mixed']['max_send_lag_ms']:.0f} ms)"
        for step in results["steps"]
        if step["mixed"]["max_send_lag_ms"] > 50
    ]
    if lagging:
        lines += ["", f"The generator itself fell behind schedule at {', '.join(lagging)}: read those with care."]
    top = max(results["steps"], key=lambda step: step["offered_rps"], default=None)
    if top is not None and "cores_used" in top:
        busy = [(name, use) for name, use in top["cores_used"]["mixed"].items() if use >= 0.01]
        lines += [
            "",
            f"## Where the cores went (mixed workload at {top['offered_rps']:g} req/s)",
            "",
            "CPU used by each process of the stack during the step, in cores (1.0 = one core all the time).",
            "",
            "| process | cores |",
            "|---|---:|",
            *[f"| {name} | {use:.2f} |" for name, use in busy],
            f"| total | {sum(use for _, use in busy):.2f} |",
        ]
    if results.get("fanout_lag"):
        lines += [
            "",
            "## Fan-out lag",
            "",
            "From sending the POST until the tweet is in this share of the active followers' timelines, in ms.",
            "",
            "| followers | active | mode | POST | 50% | 90% | 99% | 100% | worker metric |",
            "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for lag in results["fanout_lag"]:
            d = lag["delivered_ms"]
            done = _ms(d["100%"]) if not lag["timed_out"] else f"timed out ({lag['delivered']:,} delivered)"
            lines.append(
                f"| {lag['followers']:,} | {lag['active']:,} | {lag['mode']} | {_ms(lag['post_ms'])} "
                f"| {_ms(d['50%'])} | {_ms(d['90%'])} | {_ms(d['99%'])} | {done} | {_ms(lag['metric_ms'])} |"
            )
    lines += ["", "## Targets (issue 4)", "", "| target | measured | met |", "|---|---|---|"]
    for what, value, met in targets(results):
        lines.append(f"| {what} | {value} | {'-' if met is None else 'yes' if met else 'no'} |")
    if results.get("profile"):
        lines += ["", "## Profile", ""]
        for service, summary in results["profile"].items():
            lines += [f"### {service}", "", "```", summary.rstrip(), "```", ""]
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(10, 5), dpi=120)
    series: dict[str, list[tuple[float, float, float]]] = {}
    for rate, name, s in _rows(results):
        if s["p50_ms"] is not None:
            series.setdefault(name, []).append((rate, s["p50_ms"], s["p99_ms"]))
    for name, points in series.items():
        points.sort()
        rates = [p[0] for p in points]
        color = _COLORS.get(name)
        label = ENDPOINTS.get(name, name)
        ax.plot(rates, [p[1] for p in points], "o-", color=color, label=f"{label} p50")
        ax.plot(rates, [p[2] for p in points], "s--", color=color, label=f"{label} p99")
    ax.set_xlabel("offered load (requests/s)")
    ax.set_ylabel("latency (ms, from due time)")
    ax.set_yscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    ax.yaxis.set_major_formatter(plain)
    rates = sorted({rate for rate, _, _ in _rows(results)})
    if rates and rates[-1] >= 5 * rates[0]:
        ax.set_xscale("log")
        ax.set_xticks(rates, [f"{r:g}" for r in rates])
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(f"Chirp, {results['config']['scale']['name']} scale, {results['machine']['cores']} cores")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write(results: dict[str, Any], directory: Path) -> dict[str, Path]:
    """results.json, results.md and latency.png in `directory` (created); returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": directory / "results.json",
        "markdown": directory / "results.md",
        "plot": directory / "latency.png",
    }
    paths["json"].write_text(json.dumps(results, indent=2, default=str) + "\n")
    paths["markdown"].write_text(markdown(results))
    plot(results, paths["plot"])
    return paths
