"""Events on NATS JetStream: protobuf messages on `chirp.<domain>.<event>` subjects.

    events = await Events.connect(settings.nats_url, service="tweet")
    await events.ensure_stream("tweet", max_age=timedelta(days=7), max_bytes=1 << 30)
    await events.publish("chirp.tweet.created", TweetCreated(...), msg_id=f"tweet-created-{tweet.id}")

    async def on_created(event: TweetCreated, delivery: Delivery) -> None: ...
    rt.spawn(events.consume("chirp.tweet.created", TweetCreated, on_created, durable="fanout-tweet-created"))

Each domain has one stream, `CHIRP_<DOMAIN>` over `chirp.<domain>.>`, kept on file with age and size limits.
Publishing waits for JetStream's ack and sets `Nats-Msg-Id`, so a retried publish inside the stream's 2-minute
duplicate window is stored once; the W3C trace context goes in the headers. A service that must not lose an
event when it crashes between its write and the publish writes the event to its outbox instead (see outbox).

Consumers are durable pull consumers with explicit ack. A handler that returns acks the message; one that
raises has it redelivered after a delay growing with the delivery count, and after `max_deliver` deliveries
it is terminated and logged as an error. Delivery is at least once, so handlers must be idempotent (see
idempotency for helpers when the effect is not naturally so).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import nats
import nats.errors
import nats.js.errors
from google.protobuf.message import DecodeError, Message
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import api
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter

from services.kit.config import StartupError

__all__ = ["DEFAULT_BACKOFF", "Delivery", "Events", "Handler", "stream_name"]

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("chirp.events")

M = TypeVar("M", bound=Message)

MSG_ID_HEADER = "Nats-Msg-Id"
DEFAULT_BACKOFF: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0, 600.0)
_DUPLICATE_WINDOW_S = 120.0
_SUBJECT = re.compile(r"^chirp\.([a-z0-9_-]+)\.[A-Za-z0-9_.*>-]+$")
_FETCH_WAIT_S = 5.0

_HANDLED = Counter(
    "chirp_events_handled_total",
    "Event deliveries handled by a consumer, by outcome (ack, nak = retried later, term = given up).",
    ["durable", "outcome"],
)
_PUBLISHED = Counter("chirp_events_published_total", "Events published and acknowledged by JetStream.", ["subject"])


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of an event to a handler."""

    subject: str
    msg_id: str  # the publisher's Nats-Msg-Id: a stable id of the event, the key for idempotency
    num_delivered: int  # 1 on the first delivery, 2 on the first redelivery, …
    stream_sequence: int
    published_at: datetime


Handler = Callable[[M, Delivery], Awaitable[None]]


def stream_name(subject: str) -> str:
    """The stream holding `subject`: `chirp.tweet.created` → `CHIRP_TWEET`. Raises ValueError for a bad subject."""
    match = _SUBJECT.match(subject)
    if not match:
        raise ValueError(f"event subjects look like chirp.<domain>.<event>, not {subject!r}")
    return f"CHIRP_{match.group(1).upper().replace('-', '_')}"


# Default stream limits: a week of events covers any consumer outage we would not rebuild from the stores
# anyway, and the byte cap keeps a runaway publisher from filling the disk.
STREAM_MAX_AGE = timedelta(days=7)
STREAM_MAX_BYTES = 1 << 30


class Events:
    """A NATS connection with JetStream, for publishing and consuming Chirp events."""

    def __init__(self, nc: NATS) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self._stopping = asyncio.Event()
        self._loops: set[asyncio.Task[None]] = set()

    @classmethod
    async def connect(cls, url: str, *, service: str, connect_timeout: float = 10.0) -> Events:
        """Connect to the NATS server(s) at `url`; raises StartupError naming CHIRP_NATS_URL if unreachable.

        Once connected, the client reconnects forever: a NATS restart pauses events but does not end the process.
        """
        nc = NATS()
        last_error: list[BaseException] = []

        async def on_error(exc: Exception) -> None:
            last_error[:] = [exc]
            log.warning("nats: %s", exc or type(exc).__name__)

        async def on_disconnected() -> None:
            if not (nc.is_draining or nc.is_closed):  # not our own close
                log.warning("nats: disconnected")

        async def on_reconnected() -> None:
            log.info("nats: reconnected")

        try:
            await asyncio.wait_for(
                nc.connect(
                    servers=[u.strip() for u in url.split(",")],
                    name=f"chirp-{service}",
                    connect_timeout=2,
                    reconnect_time_wait=1,
                    max_reconnect_attempts=-1,
                    error_cb=on_error,
                    disconnected_cb=on_disconnected,
                    reconnected_cb=on_reconnected,
                ),
                connect_timeout,
            )
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            await nc.close()
            cause = last_error[0] if last_error else exc
            raise StartupError(f"CHIRP_NATS_URL={url}: cannot reach NATS within {connect_timeout:g}s: {cause}") from exc
        return cls(nc)

    async def ensure_stream(
        self,
        domain: str,
        *,
        max_age: timedelta | float = STREAM_MAX_AGE,
        max_bytes: int = STREAM_MAX_BYTES,
        replicas: int = 1,
    ) -> None:
        """Create or update the stream `CHIRP_<DOMAIN>` over `chirp.<domain>.>`; safe to call at every start."""
        name = stream_name(f"chirp.{domain}.x")
        config = api.StreamConfig(
            name=name,
            subjects=[f"chirp.{domain}.>"],
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            discard=api.DiscardPolicy.OLD,
            max_age=max_age.total_seconds() if isinstance(max_age, timedelta) else float(max_age),
            max_bytes=max_bytes,
            duplicate_window=_DUPLICATE_WINDOW_S,
            num_replicas=replicas,
        )
        try:
            await self.js.stream_info(name)
        except nats.js.errors.NotFoundError:
            try:
                await self.js.add_stream(config)
                log.info("created stream %s", name)
                return
            except nats.js.errors.BadRequestError:
                pass  # another instance created it between our two calls: update below
        await self.js.update_stream(config)

    async def publish(self, subject: str, message: Message, *, msg_id: str) -> api.PubAck:
        """Publish `message` on `subject` and wait for JetStream to store it.

        `msg_id` must identify the event itself (e.g. `tweet-created-<id>`), not the attempt: a publish of the
        same id within 2 minutes is stored once (the returned ack says `duplicate`).
        """
        return await self.publish_bytes(subject, message.SerializeToString(), msg_id=msg_id)

    async def publish_bytes(
        self, subject: str, payload: bytes, *, msg_id: str, trace_headers: dict[str, str] | None = None
    ) -> api.PubAck:
        """`publish` for an already serialized message; `trace_headers` (W3C) parent the publish span if given.

        The outbox uses this to link an event published later to the request that wrote it.
        """
        stream_name(subject)
        if "*" in subject or ">" in subject:
            raise ValueError(f"cannot publish to a wildcard subject: {subject!r}")
        if not msg_id:
            raise ValueError("an event needs a msg_id")
        parent = propagate.extract(trace_headers) if trace_headers else None
        with _tracer.start_as_current_span(
            f"{subject} publish",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": subject,
                "messaging.message.id": msg_id,
            },
        ):
            headers = {MSG_ID_HEADER: msg_id}
            propagate.inject(headers)
            ack = await self.js.publish(subject, payload, headers=headers)
        _PUBLISHED.labels(subject).inc()
        return ack

    async def consume(
        self,
        subject: str,
        message_type: type[M],
        handler: Handler[M],
        *,
        durable: str,
        concurrency: int = 1,
        max_deliver: int = 5,
        ack_wait: float = 30.0,
        backoff: Sequence[float] = DEFAULT_BACKOFF,
    ) -> None:
        """Handle the events on `subject` (wildcards allowed) with the durable consumer `durable` until stopped.

        Up to `concurrency` events are handled at once (1 keeps the stream's order). A handler running longer
        than `ack_wait` seconds is kept alive with progress acks. After a failure, delivery n is retried after
        `backoff[n-1]` seconds (the last value repeats); the `max_deliver`-th failure terminates the event.
        Returns once `stop()` or `close()` is called and the handlers in flight finished; cancelling the
        task stops it at once (unfinished events are redelivered).
        """
        if concurrency < 1 or max_deliver < 1 or not backoff:
            raise ValueError("concurrency and max_deliver must be ≥ 1, and backoff non-empty")
        stream = stream_name(subject)
        config = api.ConsumerConfig(
            name=durable,
            durable_name=durable,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            filter_subject=subject,
            max_deliver=max_deliver,
            ack_wait=ack_wait,
            max_ack_pending=max(concurrency * 2, 64),
        )
        await self.js.add_consumer(stream, config)  # creates, or updates a changed config
        sub = await self.js.pull_subscribe_bind(durable=durable, stream=stream)
        log.info("consuming %s as %s", subject, durable)

        async def handle(msg: Msg) -> None:
            await self._handle(msg, message_type, handler, durable, max_deliver, ack_wait, backoff)

        task = asyncio.current_task()
        if task is not None:
            self._loops.add(task)
        stopping = asyncio.ensure_future(self._stopping.wait())
        fetch: asyncio.Future[list[Msg]] | None = None
        # A window, not batches in lockstep: the next fetch goes out once half the window is free, not after the
        # slowest event of the last batch. With a window of one, nothing is fetched while an event is handled.
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping.is_set():
                room = concurrency - len(in_flight)
                if in_flight and room <= concurrency // 2:
                    await asyncio.wait({*in_flight, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    continue
                fetch = asyncio.ensure_future(sub.fetch(room, timeout=_FETCH_WAIT_S))
                await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not fetch.done():
                    break  # stopping; the pending pull expires on the server
                try:
                    msgs = fetch.result()
                except TimeoutError:
                    # Nothing arrived within the wait: ask again at once. nats-py raises its own TimeoutError
                    # or asyncio's, which is an OSError too and was taken for a failure (a warning and a
                    # one-second pause before the next fetch, on every idle consumer).
                    continue
                except (nats.errors.Error, OSError) as exc:
                    log.warning("fetching %s for %s failed (%r); retrying", subject, durable, exc)
                    await asyncio.wait({stopping}, timeout=1.0)
                    continue
                for msg in msgs:
                    handling = asyncio.create_task(handle(msg))
                    in_flight.add(handling)
                    handling.add_done_callback(in_flight.discard)
            if in_flight:
                await asyncio.wait(in_flight)  # stopping: the events in flight are finished, then acked
        finally:
            for handling in in_flight:
                handling.cancel()  # cancelled ourselves: unfinished events are redelivered
            stopping.cancel()
            if fetch is not None and not fetch.done():
                fetch.cancel()
            if task is not None:
                self._loops.discard(task)
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _handle(
        self,
        msg: Msg,
        message_type: type[M],
        handler: Handler[M],
        durable: str,
        max_deliver: int,
        ack_wait: float,
        backoff: Sequence[float],
    ) -> None:
        meta = msg.metadata
        headers = msg.headers or {}
        delivery = Delivery(
            subject=msg.subject,
            msg_id=headers.get(MSG_ID_HEADER, ""),
            num_delivered=meta.num_delivered or 1,
            stream_sequence=meta.sequence.stream if meta.sequence else 0,
            published_at=meta.timestamp,
        )
        with _tracer.start_as_current_span(
            f"{msg.subject} process",
            context=propagate.extract(headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": msg.subject,
                "messaging.message.id": delivery.msg_id,
                "messaging.consumer.group.name": durable,
            },
        ) as span:
            try:
                event = message_type.FromString(msg.data)
            except DecodeError:
                # Redelivering cannot fix a malformed payload.
                log.error("%s %s: not a %s; terminated", msg.subject, delivery.msg_id, message_type.__name__)
                await msg.term()
                _HANDLED.labels(durable, "term").inc()
                return
            try:
                async with _keep_alive(msg, ack_wait):
                    await handler(event, delivery)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await msg.nak()  # hand it back at once rather than after ack_wait
                raise
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                await self._retry_or_give_up(msg, delivery, durable, max_deliver, backoff, exc)
                return
            await msg.ack()
            _HANDLED.labels(durable, "ack").inc()

    @staticmethod
    async def _retry_or_give_up(
        msg: Msg, delivery: Delivery, durable: str, max_deliver: int, backoff: Sequence[float], exc: Exception
    ) -> None:
        n = delivery.num_delivered
        if n >= max_deliver:
            log.error(
                "%s: giving up on %s %s after %d deliveries",
                durable, delivery.subject, delivery.msg_id, n, exc_info=exc,
            )  # fmt: skip
            await msg.term()
            _HANDLED.labels(durable, "term").inc()
            return
        delay = backoff[min(n, len(backoff)) - 1]
        log.warning(
            "%s: %s %s failed on delivery %d of %d, retrying in %gs: %s: %s",
            durable, delivery.subject, delivery.msg_id, n, max_deliver, delay, type(exc).__name__, exc,
        )  # fmt: skip
        await msg.nak(delay=delay)
        _HANDLED.labels(durable, "nak").inc()

    def stop(self) -> None:
        """Make every `consume` loop return after the events it is handling."""
        self._stopping.set()

    async def stop_consuming(self, *, within: float) -> None:
        """`stop()`, then wait up to `within` seconds for the consume loops to return."""
        self.stop()
        loops = set(self._loops)
        if loops:
            await asyncio.wait(loops, timeout=within)

    async def close(self) -> None:
        """Stop consuming, flush what is pending (acks, publishes) and disconnect."""
        await self.stop_consuming(within=5.0)
        if self.nc.is_closed:
            return
        try:
            await self.nc.drain()
        except (nats.errors.Error, OSError) as exc:
            log.warning("nats: drain failed (%s); closing", exc)
            await self.nc.close()


@contextlib.asynccontextmanager
async def _keep_alive(msg: Msg, ack_wait: float) -> AsyncIterator[None]:
    """While the block runs, tell JetStream every half `ack_wait` that the event is still being worked on."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(ack_wait / 2)
            with contextlib.suppress(Exception):
                await msg.in_progress()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
