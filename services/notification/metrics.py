"""The notification service's Prometheus metrics: how late notifications are, made and delivered live."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = ["DIGESTS", "EVENT_LAG", "STREAMS", "STREAM_DELAY"]

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

EVENT_LAG = Histogram(
    "chirp_notification_event_lag_seconds",
    "From an event reaching JetStream to the notifications it makes being stored, by subject.",
    ["subject"],
    buckets=_BUCKETS,
)

STREAM_DELAY = Histogram(
    "chirp_notification_stream_delay_seconds",
    "From the action (a like, a follow, ...) to its notification being sent on a live stream.",
    buckets=_BUCKETS,
)

STREAMS = Gauge("chirp_notification_streams", "Live notification streams open on this instance.")

DIGESTS = Counter("chirp_notification_digests_total", "Email digests, by outcome (sent, failed).", ["outcome"])
