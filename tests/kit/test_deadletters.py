"""`python -m services.kit.deadletters`, run as an operator runs it, against a real JetStream server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from google.protobuf import wrappers_pb2

from services.kit.deadletters import dead_letters
from services.kit.events import Delivery, Events, RetryPolicy
from tests.kit.servers import RunningServer
from tests.kit.support import eventually

StringValue = wrappers_pb2.StringValue


@pytest.fixture
async def events(nats_server: RunningServer) -> AsyncIterator[Events]:
    client = await Events.connect(nats_server.url, service="test", retry=RetryPolicy(max_deliver=2, backoff=(0.01,)))
    yield client
    await client.close()


async def _command(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "services.kit.deadletters", "--nats-url", url, *args]
    return await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, timeout=60)


async def test_list_then_replay_one_dead_letter(events: Events, nats_server: RunningServer) -> None:
    domain, durable = "d" + uuid.uuid4().hex[:10], f"reader-{uuid.uuid4().hex[:8]}"
    await events.ensure_stream(domain, max_age=timedelta(hours=1), max_bytes=16 << 20)
    handled: list[str] = []
    broken = True

    async def handler(message: StringValue, delivery: Delivery) -> None:
        if broken:
            raise ValueError(f"cannot handle {message.value!r}")
        handled.append(f"{message.value} {delivery.subject} {delivery.msg_id}")

    subject = f"chirp.{domain}.created"
    await events.publish(subject, StringValue(value="v1"), msg_id="event-1")
    loop = asyncio.create_task(events.consume(subject, StringValue, handler, durable=durable))
    [letter] = await eventually(lambda: _letters(events, durable))

    listed = await _command(nats_server.url, "list", "--durable", durable)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert header.split()[:4] == ["ID", "GAVE", "UP", "(UTC)"]
    assert row.split()[0] == str(letter.id)
    assert f"{durable}  " in row and f"{subject}  " in row and "event-1" in row and "2/2" in row
    assert row.endswith("ValueError: cannot handle 'v1'")
    assert "1 dead letter;" in listed.stdout

    broken = False  # the fix is deployed
    replayed = await _command(nats_server.url, "replay", "--id", str(letter.id))
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.startswith(f"replayed {letter.id}: {subject} event-1 → {durable} (CHIRP_{domain.upper()}")
    await eventually(lambda: handled or None)
    assert handled == [f"v1 {subject} event-1"]

    after = await _command(nats_server.url, "list", "--durable", durable)
    assert after.stdout.strip() == f"no dead letters of {durable}"
    missing = await _command(nats_server.url, "replay", "--id", str(letter.id))
    assert (missing.returncode, missing.stderr.strip()) == (1, f"no dead letter {letter.id}: see `list`")
    events.stop()
    await asyncio.wait_for(loop, 5)


async def test_replay_wants_to_be_told_what(nats_server: RunningServer) -> None:
    answer = await _command(nats_server.url, "replay")
    assert answer.returncode == 2
    assert "replay needs --durable, --id or --all" in answer.stderr


async def _letters(events: Events, durable: str) -> list[object] | None:
    return list(await dead_letters(events.js, durable=durable)) or None
