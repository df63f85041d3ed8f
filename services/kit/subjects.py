"""Where Chirp's events live on NATS: subjects, streams, and the headers the kit adds.

    chirp.<domain>.<event>                   an event, in the stream CHIRP_<DOMAIN>
    chirp.deadletter.<STREAM>.<durable>      an event the consumer `durable` of STREAM gave up on (CHIRP_DEADLETTER)
    chirp.<domain>._replay.<durable>         a dead letter sent back to that one consumer, in its own stream

A replay goes to one consumer, not to the event's subject: every other consumer of the subject handled the
event already, and not all of them would notice a second copy (idempotency is by message id, and a republish
with the original id inside the stream's 2-minute duplicate window would not even be stored). Each consumer
listens on its replay subject besides its own (see Events.consume); the replayed message carries the original
subject and message id in headers, so the handler sees the event as it was.
"""

from __future__ import annotations

import re

__all__ = [
    "DEAD_LETTER_STREAM",
    "MSG_ID_HEADER",
    "Header",
    "covers",
    "dead_letter_subject",
    "dead_letters_of",
    "replay_subject",
    "replay_target",
    "stream_name",
]

MSG_ID_HEADER = "Nats-Msg-Id"
DEAD_LETTER_STREAM = "CHIRP_DEADLETTER"
_SUBJECT = re.compile(r"^chirp\.([a-z0-9_-]+)\.[A-Za-z0-9_.*>-]+$")
_REPLAY = re.compile(r"^chirp\.[a-z0-9_-]+\._replay\.([^.*>]+)$")


class Header:
    """Headers of a dead letter (all of them) and of a replay (the first two)."""

    SUBJECT = "Chirp-Subject"  # the event's own subject
    MSG_ID = "Chirp-Msg-Id"  # the event's own Nats-Msg-Id
    STREAM = "Chirp-Stream"
    SEQUENCE = "Chirp-Stream-Sequence"  # where the event is in STREAM
    DURABLE = "Chirp-Durable"
    ERROR = "Chirp-Error"  # the last failure: `ValueError: …`, one line
    FAILURES = "Chirp-Failures"  # deliveries that failed for the event's own reason
    DELIVERIES = "Chirp-Deliveries"  # deliveries in all, outages included


def stream_name(subject: str) -> str:
    """The stream holding `subject`: `chirp.tweet.created` → `CHIRP_TWEET`. Raises ValueError for a bad subject."""
    match = _SUBJECT.match(subject)
    if not match:
        raise ValueError(f"event subjects look like chirp.<domain>.<event>, not {subject!r}")
    return f"CHIRP_{match.group(1).upper().replace('-', '_')}"


def dead_letter_subject(stream: str, durable: str) -> str:
    # Durable names are unique per stream only, so both are in the subject.
    return f"chirp.deadletter.{stream}.{durable}"


def dead_letters_of(durable: str | None) -> str:
    """The subject filter of the dead letters of `durable` (of any stream), or of all of them."""
    return f"chirp.deadletter.*.{durable}" if durable else "chirp.deadletter.>"


def replay_subject(subject: str, durable: str) -> str:
    """Where replays for the consumer `durable` of `subject` go: `chirp.<domain>._replay.<durable>`."""
    stream_name(subject)
    return f"chirp.{subject.split('.')[1]}._replay.{durable}"


def replay_target(subject: str) -> str | None:
    """The durable a replay subject is for; None for any other subject."""
    match = _REPLAY.match(subject)
    return match.group(1) if match else None


def covers(pattern: str, subject: str) -> bool:
    """Whether the NATS subject filter `pattern` (with `*` and `>`) matches the literal `subject`."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)
