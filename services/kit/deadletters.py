"""The dead letters: events a consumer gave up on, and sending them back to it.

    .venv/bin/python -m services.kit.deadletters list [--durable D]
    .venv/bin/python -m services.kit.deadletters replay (--durable D | --id N [--id N …] | --all)

A consumer moves an event here after `CHIRP_EVENT_MAX_DELIVER` deliveries that failed for the event's own
reason (see events); an outage of a dependency never sends one here. Each dead letter keeps the payload, the
subject, message id, stream and sequence the event had, the consumer (durable) that gave up, how often it
failed, and the last error. The log line of the consumer's last failure has the traceback.

Replaying sends an event back to the one consumer that gave up on it, on that consumer's replay subject (see
subjects): the other consumers of the subject handled it already. The handler sees the original subject and
message id, so its idempotency keys are the ones it would have used the first time. A replayed dead letter
leaves the list; if it fails again, it comes back as a new one. Fix the cause (deploy the fix) first.
NATS is `CHIRP_NATS_URL` (or `--nats-url`), as for the services.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import nats.errors
import nats.js.errors
from nats.js.client import JetStreamContext

from services.kit.config import KitSettings, StartupError, load_settings
from services.kit.events import Events
from services.kit.subjects import (
    DEAD_LETTER_STREAM,
    MSG_ID_HEADER,
    Header,
    dead_letters_of,
    replay_subject,
)

__all__ = ["DeadLetter", "dead_letters", "main", "replay"]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int  # its sequence in CHIRP_DEADLETTER, what `replay --id` takes
    at: datetime | None  # when the consumer gave up
    durable: str
    stream: str
    subject: str
    msg_id: str
    stream_sequence: int
    failures: int
    deliveries: int
    error: str
    payload: bytes
    headers: dict[str, str]


async def dead_letters(js: JetStreamContext, *, durable: str | None = None) -> list[DeadLetter]:
    """Every dead letter (of consumers named `durable`, if given), oldest first."""
    try:
        await js.stream_info(DEAD_LETTER_STREAM)
    except nats.js.errors.NotFoundError:
        return []  # no consumer ran yet to create it
    out: list[DeadLetter] = []
    seq, subject = 1, dead_letters_of(durable)
    while True:
        try:
            raw = await js.get_msg(DEAD_LETTER_STREAM, seq, subject=subject, next=True)
        except nats.js.errors.NotFoundError:
            return out
        headers = dict(raw.headers or {})
        out.append(
            DeadLetter(
                id=raw.seq or 0,
                at=raw.time,
                durable=headers.get(Header.DURABLE, ""),
                stream=headers.get(Header.STREAM, ""),
                subject=headers.get(Header.SUBJECT, ""),
                msg_id=headers.get(Header.MSG_ID, ""),
                stream_sequence=_int(headers.get(Header.SEQUENCE)),
                failures=_int(headers.get(Header.FAILURES)),
                deliveries=_int(headers.get(Header.DELIVERIES)),
                error=headers.get(Header.ERROR, ""),
                payload=raw.data or b"",
                headers=headers,
            )
        )
        seq = (raw.seq or seq) + 1


async def replay(events: Events, letter: DeadLetter) -> int:
    """Send `letter` back to its consumer and take it off the list; returns the replay's sequence in its stream."""
    # The trace context and the event's own subject and id travel; the rest described the failure.
    kept = (Header.SUBJECT, Header.MSG_ID)
    headers = {k: v for k, v in letter.headers.items() if not k.startswith("Chirp-") or k in kept}
    # A replay id of its own: the original id would be swallowed as a duplicate within JetStream's window.
    # Replaying the same dead letter twice within it is stored once.
    headers[MSG_ID_HEADER] = f"replay:{letter.stream}:{letter.durable}:{letter.stream_sequence}:{letter.id}"
    ack = await events.js.publish(replay_subject(letter.subject, letter.durable), letter.payload, headers=headers)
    await events.js.delete_msg(DEAD_LETTER_STREAM, letter.id)
    return ack.seq


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


# --- the command ------------------------------------------------------------------------------------------------


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else "?"


def _print_list(letters: Sequence[DeadLetter], durable: str | None) -> None:
    if not letters:
        print(f"no dead letters{f' of {durable}' if durable else ''}")
        return
    rows = [("ID", "GAVE UP (UTC)", "DURABLE", "SUBJECT", "MSG ID", "FAILED/DELIVERED", "LAST ERROR")]
    for d in letters:
        tries = f"{d.failures}/{d.deliveries}"
        rows.append((str(d.id), _when(d.at), d.durable, d.subject, d.msg_id or "-", tries, d.error))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
    print(f"\n{len(letters)} dead letter{'s' if len(letters) != 1 else ''}; send them back to their consumers with "
          "`python -m services.kit.deadletters replay --id N` (or --durable D, or --all)")  # fmt: skip


async def _run(args: argparse.Namespace, url: str) -> int:
    try:
        events = await Events.connect(url, service="deadletters", connect_timeout=5.0)
    except StartupError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        letters = await dead_letters(events.js, durable=args.durable)
        if args.command == "list":
            _print_list(letters, args.durable)
            return 0
        if args.id:
            wanted = set(args.id)
            letters = [d for d in letters if d.id in wanted]
            missing = sorted(wanted - {d.id for d in letters})
            if missing:
                print(f"no dead letter {', '.join(map(str, missing))}: see `list`", file=sys.stderr)
                return 1
        if not letters:
            print("nothing to replay")
            return 0
        for d in letters:
            seq = await replay(events, d)
            print(f"replayed {d.id}: {d.subject} {d.msg_id or '-'} → {d.durable} ({d.stream} sequence {seq})")
        print(f"{len(letters)} replayed; each is handled again by its consumer, and back here if it fails again")
        return 0
    except (nats.errors.Error, OSError) as exc:
        print(f"NATS at {url}: {exc or type(exc).__name__}", file=sys.stderr)
        return 1
    finally:
        await events.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.kit.deadletters", description="List and replay the events consumers gave up on."
    )
    parser.add_argument("--nats-url", help="NATS server (default: CHIRP_NATS_URL, as the services read it)")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="every dead letter, oldest first")
    listing.add_argument("--durable", help="only the dead letters of this consumer")
    replaying = commands.add_parser("replay", help="send dead letters back to the consumers that gave up on them")
    replaying.add_argument("--durable", help="every dead letter of this consumer")
    replaying.add_argument("--id", type=int, action="append", help="this dead letter (repeat for more)")
    replaying.add_argument("--all", action="store_true", help="every dead letter")
    args = parser.parse_args(argv)
    if args.command == "replay" and not (args.durable or args.id or args.all):
        parser.error("replay needs --durable, --id or --all")
    url = args.nats_url or load_settings(KitSettings, "deadletters").nats_url
    return asyncio.run(_run(args, url))


if __name__ == "__main__":
    sys.exit(main())
