"""Waiting for the event pipeline to catch up, by asking JetStream how much its consumers still owe.

Seeding and posting leave work behind them (fan-out, counters, search indexing, notifications); a
measurement that starts before it is done measures the backlog too.
"""

from __future__ import annotations

import asyncio
import sys
import time

import nats

__all__ = ["backlog", "wait_drained"]


async def backlog(nats_url: str) -> dict[str, int]:
    """Messages every durable consumer has not yet acknowledged (pending + in flight), by stream/consumer."""
    nc = await nats.connect(nats_url, connect_timeout=5, allow_reconnect=False)
    try:
        js = nc.jetstream()
        owed: dict[str, int] = {}
        for stream in await js.streams_info():
            name = stream.config.name or ""
            for consumer in await js.consumers_info(name):
                owed[f"{name}/{consumer.name}"] = (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
        return owed
    finally:
        await nc.close()


async def wait_drained(
    nats_url: str, *, within: float, stalled_after: float = 60.0, quiet: bool = False
) -> tuple[float, dict[str, int]]:
    """Wait until every consumer is caught up, twice in a row (the outboxes publish a moment after a write).

    Returns the seconds waited and the consumers still behind: none, unless the backlog stopped shrinking
    for `stalled_after` seconds — a consumer whose handler keeps failing waits out long redelivery delays,
    and a benchmark should report that rather than hang on it. Raises TimeoutError after `within` seconds.
    """
    started = time.monotonic()
    deadline = started + within
    clean = 0
    last_print = 0.0
    smallest, shrank_at = float("inf"), started
    while True:
        owed = await backlog(nats_url)
        behind = {k: v for k, v in owed.items() if v}
        clean = 0 if behind else clean + 1
        now = time.monotonic()
        if clean >= 2:
            return now - started, {}
        total = sum(behind.values())
        if total < smallest:
            smallest, shrank_at = total, now
        if now - shrank_at > stalled_after:
            if not quiet:
                print(f"  WARNING: event consumers stuck, going on without them: {behind}", file=sys.stderr, flush=True)
            return now - started, behind
        if now > deadline:
            raise TimeoutError(f"event consumers still behind after {within:.0f}s: {behind}")
        if behind and not quiet and now - last_print > 10:
            last_print = now
            worst = max(behind, key=lambda k: behind[k])
            print(f"  events still pending: {total:,} (most: {worst} {behind[worst]:,})", file=sys.stderr, flush=True)
        await asyncio.sleep(0.5)
