"""Events on a real JetStream server: streams, publish, consume with ack / retries / outages / dead letters, dedupe."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import grpc
import httpx
import nats.errors
import nats.js.api
import nats.js.errors
import pytest
import redis.exceptions
from google.protobuf import wrappers_pb2
from opentelemetry import trace
from prometheus_client import REGISTRY

from services.kit import redis as kit_redis
from services.kit.config import StartupError
from services.kit.deadletters import DeadLetter, dead_letters, replay
from services.kit.events import Delivery, Events, Handler, RetryPolicy, stream_name
from services.kit.idempotency import AlreadyRunning, once
from services.kit.pulling import Puller
from tests.kit.servers import RunningServer
from tests.kit.support import eventually

StringValue = wrappers_pb2.StringValue


@pytest.fixture
async def events(nats_server: RunningServer) -> AsyncIterator[Events]:
    client = await Events.connect(nats_server.url, service="test")
    yield client
    await client.close()


@pytest.fixture
async def domain(events: Events) -> str:
    """A fresh stream per test, so tests never see each other's events."""
    name = "t" + uuid.uuid4().hex[:10]
    await events.ensure_stream(name, max_age=timedelta(hours=1), max_bytes=16 << 20)
    return name


async def _consumer_state(events: Events, domain: str, durable: str) -> nats.js.api.ConsumerInfo:
    return await events.js.consumer_info(stream_name(f"chirp.{domain}.x"), durable)


def test_subjects_map_to_domain_streams() -> None:
    assert stream_name("chirp.tweet.created") == "CHIRP_TWEET"
    assert stream_name("chirp.tweet.>") == "CHIRP_TWEET"
    for bad in ("tweet.created", "chirp.Tweet.created", "chirp.tweet", "chirp..x"):
        with pytest.raises(ValueError):
            stream_name(bad)


async def test_ensure_stream_creates_then_updates(events: Events) -> None:
    domain = "s" + uuid.uuid4().hex[:10]
    await events.ensure_stream(domain, max_age=timedelta(days=7), max_bytes=1 << 20)
    await events.ensure_stream(domain, max_age=timedelta(days=7), max_bytes=1 << 20)  # idempotent
    info = await events.js.stream_info(f"CHIRP_{domain.upper()}")
    assert info.config.subjects == [f"chirp.{domain}.>"]
    assert info.config.storage == nats.js.api.StorageType.FILE
    assert info.config.duplicate_window == 120
    assert info.config.max_age == 7 * 24 * 3600
    await events.ensure_stream(domain, max_age=timedelta(days=1), max_bytes=2 << 20)  # a changed limit
    info = await events.js.stream_info(f"CHIRP_{domain.upper()}")
    assert (info.config.max_age, info.config.max_bytes) == (24 * 3600, 2 << 20)


async def test_publish_consume_ack(events: Events, domain: str) -> None:
    got: list[tuple[str, Delivery]] = []

    async def handler(message: StringValue, delivery: Delivery) -> None:
        got.append((message.value, delivery))

    for i in range(3):
        ack = await events.publish(f"chirp.{domain}.created", StringValue(value=f"m{i}"), msg_id=f"m-{i}")
        assert not ack.duplicate
    task = asyncio.create_task(events.consume(f"chirp.{domain}.created", StringValue, handler, durable="reader"))
    await eventually(lambda: len(got) == 3)
    assert [value for value, _ in got] == ["m0", "m1", "m2"]
    first = got[0][1]
    assert (first.subject, first.msg_id, first.num_delivered) == (f"chirp.{domain}.created", "m-0", 1)
    assert first.stream_sequence == 1
    state = await eventually(lambda: _acked(events, domain, "reader", 3))
    assert state.num_ack_pending == 0 and state.num_pending == 0
    events.stop()
    await asyncio.wait_for(task, 5)


async def _acked(events: Events, domain: str, durable: str, seq: int) -> Any:
    """The consumer's state once everything up to `seq` is acknowledged (or terminated), else None."""
    try:
        state = await _consumer_state(events, domain, durable)
    except nats.js.errors.NotFoundError:
        return None  # the consume task has not created it yet
    return state if state.ack_floor and state.ack_floor.stream_seq == seq and not state.num_ack_pending else None


async def test_failed_handler_is_redelivered_after_a_delay(events: Events, domain: str) -> None:
    deliveries: list[int] = []
    times: list[float] = []

    async def flaky(message: StringValue, delivery: Delivery) -> None:
        deliveries.append(delivery.num_delivered)
        times.append(time.monotonic())
        if delivery.num_delivered == 1:
            raise RuntimeError("a bug that the next delivery does not trip on")

    await events.publish(f"chirp.{domain}.created", StringValue(value="x"), msg_id="x-1")
    task = asyncio.create_task(
        events.consume(f"chirp.{domain}.created", StringValue, flaky, durable="flaky", backoff=(0.2,))
    )
    await eventually(lambda: _acked(events, domain, "flaky", 1))
    assert deliveries == [1, 2]
    assert times[1] - times[0] >= 0.19, "the nak must carry the backoff delay"
    events.stop()
    await asyncio.wait_for(task, 5)


async def test_poison_event_goes_to_the_dead_letters_after_max_deliver(
    events: Events, domain: str, caplog: pytest.LogCaptureFixture
) -> None:
    deliveries: list[int] = []
    durable = _unique("poison")

    async def broken(message: StringValue, delivery: Delivery) -> None:
        deliveries.append(delivery.num_delivered)
        raise ValueError("cannot handle this one")

    before = _dead_lettered(durable)
    with trace.get_tracer("test").start_as_current_span("request"):
        await events.publish(f"chirp.{domain}.created", StringValue(value="bad"), msg_id="bad-1")
    task = asyncio.create_task(
        events.consume(f"chirp.{domain}.created", StringValue, broken, durable=durable, max_deliver=3,
                       backoff=(0.02, 0.04))
    )  # fmt: skip
    # Terminated counts as done for the consumer: the ack floor moves past it and nothing is pending.
    await eventually(lambda: _acked(events, domain, durable, 1))
    assert deliveries == [1, 2, 3]
    [letter] = await eventually(lambda: _letters(events, durable))
    assert (letter.durable, letter.stream, letter.subject, letter.msg_id) == (
        durable, stream_name(f"chirp.{domain}.x"), f"chirp.{domain}.created", "bad-1",
    )  # fmt: skip
    assert (letter.stream_sequence, letter.failures, letter.deliveries) == (1, 3, 3)
    assert letter.error == "ValueError: cannot handle this one"
    assert StringValue.FromString(letter.payload).value == "bad"
    assert "traceparent" in letter.headers, "the trace context stays with the event"
    assert _dead_lettered(durable) == before + 1
    assert any(
        "moved to the dead letters" in r.getMessage() and durable in r.getMessage() and r.levelname == "ERROR"
        for r in caplog.records
    )
    events.stop()
    await asyncio.wait_for(task, 5)


async def test_an_outage_is_waited_out_however_many_deliveries_it_takes(
    nats_server: RunningServer, domain: str
) -> None:
    # Each kind of outage a handler meets, one after the other, far more deliveries than max_deliver allows.
    outages: list[Exception] = [
        grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "graph down"),
        grpc.aio.AioRpcError(grpc.StatusCode.DEADLINE_EXCEEDED, grpc.aio.Metadata(), grpc.aio.Metadata(), "slow"),
        redis.exceptions.ConnectionError("Connection refused"),
        nats.errors.TimeoutError(),
        httpx.ConnectError("connection refused"),
        sqlite3.OperationalError("database is locked"),
        ConnectionRefusedError(111, "Connection refused"),
    ]
    seen: list[int] = []
    durable = _unique("patient")

    async def waits(message: StringValue, delivery: Delivery) -> None:
        seen.append(delivery.num_delivered)
        if len(seen) <= len(outages):
            raise outages[len(seen) - 1]

    policy = RetryPolicy(max_deliver=2, backoff=(0.01,), outage_backoff=(0.01, 0.02, 0.05))
    events = await Events.connect(nats_server.url, service="test", retry=policy)
    try:
        await events.publish(f"chirp.{domain}.created", StringValue(value="later"), msg_id="later-1")
        task = asyncio.create_task(events.consume(f"chirp.{domain}.created", StringValue, waits, durable=durable))
        await eventually(lambda: _acked(events, domain, durable, 1))
        assert seen == list(range(1, len(outages) + 2)), "handled on the delivery after the last outage"
        assert await _letters(events, durable) is None
        info = await _consumer_state(events, domain, durable)
        assert info.config.max_deliver == -1, "JetStream must not cap the deliveries"
        events.stop()
        await asyncio.wait_for(task, 5)
    finally:
        await events.close()


async def test_own_failures_are_counted_apart_from_outages(nats_server: RunningServer, domain: str) -> None:
    outage = grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "down")
    # Own failure, three outages, own failure: with max_deliver 3 the event still has a try left, and succeeds.
    script: list[Exception | None] = [ValueError("first"), outage, outage, outage, ValueError("second"), None]
    seen: list[int] = []
    durable = _unique("mixed")

    async def handler(message: StringValue, delivery: Delivery) -> None:
        seen.append(delivery.num_delivered)
        failure = script[len(seen) - 1]
        if failure is not None:
            raise failure

    policy = RetryPolicy(max_deliver=3, backoff=(0.01,), outage_backoff=(0.01,))
    events = await Events.connect(nats_server.url, service="test", retry=policy)
    try:
        await events.publish(f"chirp.{domain}.created", StringValue(value="m"), msg_id="mixed-1")
        task = asyncio.create_task(events.consume(f"chirp.{domain}.created", StringValue, handler, durable=durable))
        await eventually(lambda: _acked(events, domain, durable, 1))
        assert seen == [1, 2, 3, 4, 5, 6]
        assert await _letters(events, durable) is None
        events.stop()
        await asyncio.wait_for(task, 5)
    finally:
        await events.close()


async def test_a_replay_reaches_only_the_consumer_that_gave_up(events: Events, domain: str) -> None:
    subject = f"chirp.{domain}.created"
    picky, everything = _unique("picky"), _unique("everything")
    handled: dict[str, list[tuple[str, str, str]]] = {picky: [], everything: []}
    fixed = False

    def recorder(durable: str) -> Handler[StringValue]:
        async def handler(message: StringValue, delivery: Delivery) -> None:
            if durable == picky and not fixed:
                raise ValueError("a bug, fixed later")
            handled[durable].append((message.value, delivery.subject, delivery.msg_id))

        return handler

    await events.publish(subject, StringValue(value="once"), msg_id="once-1")
    loops = [
        asyncio.create_task(events.consume(subject, StringValue, recorder(picky), durable=picky, max_deliver=1)),
        # A wildcard consumer of the same stream sees every replay subject, and must leave others' alone.
        asyncio.create_task(events.consume(f"chirp.{domain}.>", StringValue, recorder(everything), durable=everything)),
    ]
    [letter] = await eventually(lambda: _letters(events, picky))
    await eventually(lambda: handled[everything] or None)
    fixed = True
    replayed_at = await replay(events, letter)
    await eventually(lambda: handled[picky] or None)
    assert handled[picky] == [("once", subject, "once-1")], "the handler sees the event as it was published"
    assert await _letters(events, picky) is None, "a replayed dead letter leaves the list"
    # The wildcard consumer has moved past the replay without handling it again.
    await eventually(lambda: _acked(events, domain, everything, replayed_at))
    assert handled[everything] == [("once", subject, "once-1")]
    events.stop()
    await asyncio.wait_for(asyncio.gather(*loops), 5)


async def test_a_consumer_made_before_dead_letters_is_updated(events: Events, domain: str) -> None:
    # A durable as the kit created it before: JetStream's max_deliver 5, one filter subject.
    subject, durable = f"chirp.{domain}.created", _unique("old")
    await events.js.add_consumer(
        stream_name(subject),
        nats.js.api.ConsumerConfig(
            name=durable, durable_name=durable, ack_policy=nats.js.api.AckPolicy.EXPLICIT, filter_subject=subject,
            max_deliver=5, ack_wait=30,
        ),
    )  # fmt: skip
    got: list[str] = []

    async def handler(message: StringValue, delivery: Delivery) -> None:
        got.append(message.value)

    await events.publish(subject, StringValue(value="after"), msg_id="after-1")
    task = asyncio.create_task(events.consume(subject, StringValue, handler, durable=durable))
    await eventually(lambda: got or None)
    info = await _consumer_state(events, domain, durable)
    assert info.config.max_deliver == -1
    assert sorted(info.config.filter_subjects or []) == sorted([subject, f"chirp.{domain}._replay.{durable}"])
    events.stop()
    await asyncio.wait_for(task, 5)


def _unique(prefix: str) -> str:
    # Dead letters of every test share one stream: names keep them apart.
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _dead_lettered(durable: str) -> float:
    return REGISTRY.get_sample_value("chirp_events_dead_lettered_total", {"durable": durable}) or 0.0


async def _letters(events: Events, durable: str) -> list[DeadLetter] | None:
    return await dead_letters(events.js, durable=durable) or None


async def test_same_msg_id_is_stored_once(events: Events, domain: str) -> None:
    got: list[str] = []

    async def handler(message: StringValue, delivery: Delivery) -> None:
        got.append(message.value)

    first = await events.publish(f"chirp.{domain}.created", StringValue(value="one"), msg_id="same")
    again = await events.publish(f"chirp.{domain}.created", StringValue(value="one"), msg_id="same")
    other = await events.publish(f"chirp.{domain}.created", StringValue(value="two"), msg_id="other")
    assert (bool(first.duplicate), bool(again.duplicate), bool(other.duplicate)) == (False, True, False)
    assert again.seq == first.seq
    task = asyncio.create_task(events.consume(f"chirp.{domain}.>", StringValue, handler, durable="dedupe"))
    await eventually(lambda: _acked(events, domain, "dedupe", other.seq))
    assert got == ["one", "two"]
    events.stop()
    await asyncio.wait_for(task, 5)


async def test_trace_context_travels_in_headers(events: Events, domain: str, spans: Any) -> None:
    seen: list[Any] = []

    async def handler(message: StringValue, delivery: Delivery) -> None:
        seen.append(trace.get_current_span().get_span_context())

    with trace.get_tracer("test").start_as_current_span("request") as request_span:
        await events.publish(f"chirp.{domain}.created", StringValue(value="t"), msg_id="t-1")
    task = asyncio.create_task(events.consume(f"chirp.{domain}.created", StringValue, handler, durable="traced"))
    await eventually(lambda: seen)
    assert seen[0].trace_id == request_span.get_span_context().trace_id
    events.stop()
    await asyncio.wait_for(task, 5)
    by_name = {s.name: s for s in spans.get_finished_spans()}
    publish, process = by_name[f"chirp.{domain}.created publish"], by_name[f"chirp.{domain}.created process"]
    assert process.parent.span_id == publish.context.span_id


async def test_concurrency_runs_handlers_side_by_side(events: Events, domain: str) -> None:
    in_flight, peak, release = 0, 0, asyncio.Event()

    async def slow(message: StringValue, delivery: Delivery) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await release.wait()
        in_flight -= 1

    for i in range(4):
        await events.publish(f"chirp.{domain}.created", StringValue(value=str(i)), msg_id=f"c-{i}")
    task = asyncio.create_task(
        events.consume(f"chirp.{domain}.created", StringValue, slow, durable="wide", concurrency=4)
    )
    await eventually(lambda: peak == 4)
    release.set()
    await eventually(lambda: _acked(events, domain, "wide", 4))
    events.stop()
    await asyncio.wait_for(task, 5)


async def test_one_slow_event_does_not_hold_back_the_ones_after_it(events: Events, domain: str) -> None:
    done: list[str] = []
    release = asyncio.Event()

    async def handler(message: StringValue, delivery: Delivery) -> None:
        if message.value == "0":
            await release.wait()
        done.append(message.value)

    for i in range(10):
        await events.publish(f"chirp.{domain}.created", StringValue(value=str(i)), msg_id=f"w-{i}")
    task = asyncio.create_task(
        events.consume(f"chirp.{domain}.created", StringValue, handler, durable="window", concurrency=4)
    )
    # Fetched in batches of four and handled in lockstep, events 4 to 9 would wait for event 0.
    await eventually(lambda: sorted(done) == [str(i) for i in range(1, 10)])
    release.set()
    await eventually(lambda: _acked(events, domain, "window", 10))
    events.stop()
    await asyncio.wait_for(task, 5)


async def test_stopping_finishes_the_events_in_flight(events: Events, domain: str) -> None:
    finished: list[str] = []
    started = asyncio.Event()

    async def handler(message: StringValue, delivery: Delivery) -> None:
        started.set()
        await asyncio.sleep(0.2)
        finished.append(message.value)

    await events.publish(f"chirp.{domain}.created", StringValue(value="last"), msg_id="s-1")
    task = asyncio.create_task(
        events.consume(f"chirp.{domain}.created", StringValue, handler, durable="finishing", concurrency=4)
    )
    await started.wait()
    events.stop()
    await asyncio.wait_for(task, 5)
    assert finished == ["last"]
    await eventually(lambda: _acked(events, domain, "finishing", 1))


async def _bare_consumer(events: Events, domain: str) -> tuple[str, str]:
    subject, durable = f"chirp.{domain}.created", _unique("bare")
    config = nats.js.api.ConsumerConfig(
        name=durable, durable_name=durable, ack_policy=nats.js.api.AckPolicy.EXPLICIT, filter_subject=subject
    )
    await events.js.add_consumer(stream_name(subject), config)
    return subject, durable


async def test_a_message_is_handed_over_while_its_pull_request_is_still_open(events: Events, domain: str) -> None:
    subject, durable = await _bare_consumer(events, domain)
    puller = Puller(events.nc, stream=stream_name(subject), durable=durable)
    try:
        await puller.ask(4)
        await events.publish(subject, StringValue(value="now"), msg_id="now-1")
        msg = await eventually(puller.take)
        assert StringValue.FromString(msg.data).value == "now"
        # nats-py's fetch(4) would still be waiting here for three more, or for the request to expire.
        assert puller.asked == 3
        await msg.ack()
    finally:
        await puller.close()


async def test_an_expired_request_ends_only_itself(events: Events, domain: str) -> None:
    subject, durable = await _bare_consumer(events, domain)
    puller = Puller(events.nc, stream=stream_name(subject), durable=durable, expires=0.3)
    try:
        await puller.ask(1)
        await eventually(lambda: puller.asked == 0)  # its 408
        await puller.ask(2)
        for n in range(2):
            await events.publish(subject, StringValue(value=str(n)), msg_id=f"two-{n}")
        await eventually(lambda: puller.queued == 2)
        assert puller.asked == 0, "the second request ended with its batch"
        assert (puller.refused, [StringValue.FromString(m.data).value for m in await puller.close()]) == (
            None,
            ["0", "1"],
        )
    finally:
        await puller.close()


async def test_an_idle_consumer_keeps_one_pull_request_open(
    events: Events, domain: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("services.kit.events._PULL_EXPIRES_S", 0.2)
    subject, durable = f"chirp.{domain}.created", _unique("idle")
    requests: list[bytes] = []

    async def seen(msg: Any) -> None:
        requests.append(msg.data)

    watch = await events.nc.subscribe(f"$JS.API.CONSUMER.MSG.NEXT.{stream_name(subject)}.{durable}", cb=seen)
    handled: list[str] = []

    async def handler(message: StringValue, delivery: Delivery) -> None:
        handled.append(message.value)

    task = asyncio.create_task(events.consume(subject, StringValue, handler, durable=durable, concurrency=8))
    await eventually(lambda: len(requests) >= 4)  # three expiries at least, each followed by one new request
    info = await _consumer_state(events, domain, durable)
    assert info.num_waiting <= 1, "an expired request is not left behind, nor asked for twice"
    await events.publish(subject, StringValue(value="after"), msg_id="idle-1")
    await eventually(lambda: handled == ["after"])
    events.stop()
    await asyncio.wait_for(task, 5)
    await watch.unsubscribe()
    assert {json.loads(r)["batch"] for r in requests} == {8}
    assert not [r for r in caplog.records if r.name == "services.kit.events" and r.levelname == "WARNING"]


async def test_malformed_payload_goes_to_the_dead_letters_at_once(events: Events, domain: str) -> None:
    calls: list[str] = []
    durable = _unique("strict")

    async def handler(message: wrappers_pb2.Int64Value, delivery: Delivery) -> None:
        calls.append(delivery.msg_id)

    await events.js.publish(f"chirp.{domain}.created", b"\xff\xff\xff", headers={"Nats-Msg-Id": "garbage"})
    task = asyncio.create_task(
        events.consume(f"chirp.{domain}.created", wrappers_pb2.Int64Value, handler, durable=durable)
    )
    await eventually(lambda: _acked(events, domain, durable, 1))
    assert calls == []
    [letter] = await eventually(lambda: _letters(events, durable))
    assert (letter.payload, letter.msg_id, letter.deliveries) == (b"\xff\xff\xff", "garbage", 1)
    assert letter.error.startswith("DecodeError")
    events.stop()
    await asyncio.wait_for(task, 5)


async def test_connect_failure_names_the_variable() -> None:
    with pytest.raises(StartupError, match=re.escape("CHIRP_NATS_URL=nats://127.0.0.1:1")):
        await Events.connect("nats://127.0.0.1:1", service="test", connect_timeout=0.5)


async def test_once_runs_a_block_once_per_key(valkey_server: RunningServer) -> None:
    redis = await kit_redis.connect(valkey_server.url)
    key = "test:" + uuid.uuid4().hex
    runs: list[int] = []

    with pytest.raises(RuntimeError):
        async with once(redis, key, ttl=60) as first:
            assert first
            raise RuntimeError("effect failed")  # the mark is released: the redelivery must run it
    async with once(redis, key, ttl=60) as first:
        if first:
            runs.append(1)
    async with once(redis, key, ttl=60) as first:
        if first:
            runs.append(2)
    assert runs == [1]

    other = "test:" + uuid.uuid4().hex
    async with once(redis, other, ttl=60) as first:
        assert first
        with pytest.raises(AlreadyRunning):
            async with once(redis, other, ttl=60):
                pass
    await redis.aclose()


async def test_redis_connect_failure_names_the_variable() -> None:
    with pytest.raises(StartupError, match=re.escape("CHIRP_REDIS_URL=redis://:***@127.0.0.1:1/0")):
        await kit_redis.connect("redis://:hunter2@127.0.0.1:1/0", connect_timeout=0.5)
