"""The fan-out worker's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = ["IN_FLIGHT", "LAG", "TIMELINES"]

LAG = Histogram(
    "chirp_fanout_lag_seconds",
    "From a tweet's created_at to its last timeline write: the last follower's home timeline (path=push), or "
    "the famous author's list that readers pull from (path=pull).",
    ["path"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)

TIMELINES = Counter(
    "chirp_fanout_timelines_total",
    "Home timelines a tweet was offered to, by outcome: written (cached, so active) or inactive (no cached "
    "timeline, skipped; rebuilt when its owner reads).",
    ["outcome"],
)

IN_FLIGHT = Gauge("chirp_fanout_in_flight", "Tweets being delivered right now.")
