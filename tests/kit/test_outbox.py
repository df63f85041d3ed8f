"""The transactional outbox on a real JetStream: commit ⇒ published, rollback ⇒ never, crash ⇒ later, once."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, wrappers_pb2
from opentelemetry import trace

from services.kit.events import Delivery, Events
from services.kit.identity import USER_ID_HEADER, require_user
from services.kit.outbox import Outbox
from services.kit.server import Runtime
from services.kit.sqlite import Database
from tests.kit.servers import RunningServer
from tests.kit.support import call, eventually, running, unary

StringValue = wrappers_pb2.StringValue
MIGRATIONS = ["CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"]


@pytest.fixture
async def events(nats_server: RunningServer) -> AsyncIterator[Events]:
    client = await Events.connect(nats_server.url, service="test")
    yield client
    await client.close()


@pytest.fixture
async def domain(events: Events) -> str:
    name = "o" + uuid.uuid4().hex[:10]
    await events.ensure_stream(name, max_age=timedelta(hours=1), max_bytes=16 << 20)
    return name


async def _stored(events: Events, domain: str) -> list[tuple[str, str]]:
    """(msg id, value) of every message in the domain's stream, in order."""
    info = await events.js.stream_info(f"CHIRP_{domain.upper()}")
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else ():
        msg = await events.js.get_msg(f"CHIRP_{domain.upper()}", seq)
        out.append(((msg.headers or {}).get("Nats-Msg-Id", ""), StringValue.FromString(msg.data or b"").value))
    return out


async def _add_item(db: Database, outbox: Outbox, domain: str, item_id: int, *, fail: bool = False) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", (item_id, f"item {item_id}"))
        await outbox.add(tx, f"chirp.{domain}.added", StringValue(value=f"item {item_id}"), msg_id=f"added-{item_id}")
        if fail:
            raise RuntimeError("the write fails after queueing its event")


async def test_committed_events_are_published_right_after_commit(tmp_path: Path, events: Events, domain: str) -> None:
    db = await Database.open(tmp_path / "svc.db", MIGRATIONS)
    outbox = Outbox(db, events)
    # A long poll interval: only the after-commit wake-up can explain a prompt publish.
    relay = asyncio.create_task(outbox.relay(poll_interval=60))
    start = time.monotonic()
    await _add_item(db, outbox, domain, 1)
    await eventually(lambda: _stored(events, domain), within=2)
    assert time.monotonic() - start < 2
    with pytest.raises(RuntimeError):
        await _add_item(db, outbox, domain, 2, fail=True)
    await _add_item(db, outbox, domain, 3)
    await eventually(lambda: outbox_empty(outbox))
    assert await _stored(events, domain) == [("added-1", "item 1"), ("added-3", "item 3")]
    relay.cancel()
    await db.close()


async def outbox_empty(outbox: Outbox) -> bool:
    return await outbox.pending() == 0


async def test_events_left_by_a_crash_are_published_on_restart_in_order(
    tmp_path: Path, events: Events, domain: str
) -> None:
    path = tmp_path / "svc.db"
    db = await Database.open(path, MIGRATIONS)
    outbox = Outbox(db, events)  # no relay running: the process "crashes" right after its commits
    for item_id in (1, 2, 3):
        await _add_item(db, outbox, domain, item_id)
    await db.close()
    assert await _stored(events, domain) == []

    db = await Database.open(path, MIGRATIONS)  # the restarted process
    outbox = Outbox(db, events)
    assert await outbox.pending() == 3
    relay = asyncio.create_task(outbox.relay(poll_interval=60))
    await eventually(lambda: outbox_empty(outbox))
    assert await _stored(events, domain) == [("added-1", "item 1"), ("added-2", "item 2"), ("added-3", "item 3")]
    relay.cancel()
    await db.close()


async def test_republished_rows_are_stored_once(tmp_path: Path, events: Events, domain: str) -> None:
    db = await Database.open(tmp_path / "svc.db", MIGRATIONS)
    outbox = Outbox(db, events)
    await _add_item(db, outbox, domain, 1)
    assert await outbox.flush() == 1
    # A crash between JetStream's ack and the row's delete leaves the row behind: put it back.
    async with db.transaction() as tx:
        await outbox.add(tx, f"chirp.{domain}.added", StringValue(value="item 1"), msg_id="added-1")
    assert await outbox.flush() == 1
    assert await outbox.pending() == 0
    assert await _stored(events, domain) == [("added-1", "item 1")]
    await db.close()


async def test_bad_subject_fails_the_write_not_the_relay(tmp_path: Path, events: Events) -> None:
    db = await Database.open(tmp_path / "svc.db", MIGRATIONS)
    outbox = Outbox(db, events)
    with pytest.raises(ValueError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO items (id, name) VALUES (1, 'x')")
            await outbox.add(tx, "tweet.created", StringValue(value="x"), msg_id="x")
    assert await db.fetch_all("SELECT * FROM items") == []
    await db.close()


async def test_consumers_join_the_trace_of_the_write(tmp_path: Path, events: Events, domain: str) -> None:
    db = await Database.open(tmp_path / "svc.db", MIGRATIONS)
    outbox = Outbox(db, events)
    with trace.get_tracer("test").start_as_current_span("CreateItem") as request:
        await _add_item(db, outbox, domain, 1)
    row = await db.fetch_one("SELECT headers FROM kit_outbox")
    assert row is not None and "traceparent" in json.loads(row["headers"])
    await outbox.flush()  # later, outside the request
    seen: list[int] = []

    async def handler(message: StringValue, delivery: Delivery) -> None:
        seen.append(trace.get_current_span().get_span_context().trace_id)

    task = asyncio.create_task(events.consume(f"chirp.{domain}.added", StringValue, handler, durable="traced"))
    await eventually(lambda: seen)
    assert seen == [request.get_span_context().trace_id]
    events.stop()
    await asyncio.wait_for(task, 5)
    await db.close()


async def test_runtime_wires_database_outbox_events_and_redis(
    tmp_path: Path, nats_server: RunningServer, valkey_server: RunningServer
) -> None:
    """A service as the lead writes one: an RPC writes a row and its event; a worker-style consumer reacts."""
    domain = "r" + uuid.uuid4().hex[:10]
    consumed: list[tuple[str, int]] = []

    async def setup(rt: Runtime[Any]) -> None:
        db = await rt.database("items", MIGRATIONS)
        outbox = await rt.outbox(db)
        events, redis = await rt.events(), await rt.redis()
        await events.ensure_stream(domain, max_age=timedelta(hours=1), max_bytes=1 << 20)

        async def create(request: StringValue, context: Any) -> wrappers_pb2.Int64Value:
            item_id = rt.snowflake.next_id()
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", (item_id, request.value))
                await outbox.add(tx, f"chirp.{domain}.added", StringValue(value=f"{require_user()}:{request.value}"),
                                 msg_id=f"added-{item_id}")  # fmt: skip
            return wrappers_pb2.Int64Value(value=item_id)

        async def on_added(message: StringValue, delivery: Delivery) -> None:
            await redis.incr(f"test:{domain}:added")
            consumed.append((message.value, delivery.num_delivered))

        rt.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            "kittest.v1.Items", {"Create": unary(create, StringValue, wrappers_pb2.Int64Value)}
        ),))  # fmt: skip
        rt.spawn(events.consume(f"chirp.{domain}.added", StringValue, on_added, durable="items-added"))

    async with running(
        tmp_path, {"Ok": unary(_ok, empty_pb2.Empty, empty_pb2.Empty)}, setup=setup,
        nats_url=nats_server.url, redis_url=valkey_server.url,
    ) as (rt, channel):  # fmt: skip
        stub = channel.unary_unary(
            "/kittest.v1.Items/Create",
            request_serializer=StringValue.SerializeToString,
            response_deserializer=wrappers_pb2.Int64Value.FromString,
        )
        created = await stub(StringValue(value="first"), metadata=((USER_ID_HEADER, "12"),))
        await eventually(lambda: consumed)
        assert consumed == [("12:first", 1)]
        assert created.value > 0
        redis = await rt.redis()
        assert await redis.get(f"test:{domain}:added") == b"1"
        await call(channel, "Ok", empty_pb2.Empty(), empty_pb2.Empty)
    assert (tmp_path / "data" / "items.db").exists()


async def _ok(request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
    return empty_pb2.Empty()
