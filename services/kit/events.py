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

Consumers are durable pull consumers with explicit ack, each event handed to its handler as soon as it arrives
(see pulling for why not nats-py's fetch). A handler that returns acks the message; one that
raises has it redelivered later (see retries for when):

- if the failure is a dependency's outage (failures.dependency_down: UNAVAILABLE, DEADLINE_EXCEEDED, a refused
  connection, a timeout), the event is tried again with a capped backoff for as long as the outage lasts. An
  outage is not the event's fault, and losing the event to it would lose a tweet's fan-out;
- any other failure is the event's own (a payload that cannot be parsed, a broken invariant, a bug). After
  `max_deliver` of those the event goes to the dead letters (`CHIRP_DEADLETTER`, with the payload, where it
  came from and why it failed), a metric and an error line tell, and `python -m services.kit.deadletters`
  lists and replays them (see deadletters).

JetStream's own `max_deliver` is off (-1): it cannot tell the two apart. Delivery is at least once, so
handlers must be idempotent (see idempotency for helpers when the effect is not naturally so).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

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

from services.kit import pulling
from services.kit.config import StartupError
from services.kit.failures import dependency_down, describe
from services.kit.pulling import Puller
from services.kit.retries import DEFAULT_BACKOFF, RetryPolicy
from services.kit.subjects import (
    DEAD_LETTER_STREAM,
    MSG_ID_HEADER,
    Header,
    covers,
    dead_letter_subject,
    replay_subject,
    replay_target,
    stream_name,
)

__all__ = ["DEFAULT_BACKOFF", "Delivery", "Events", "Handler", "RetryPolicy", "stream_name"]

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("chirp.events")

M = TypeVar("M", bound=Message)

_DUPLICATE_WINDOW_S = 120.0
_PULL_EXPIRES_S = pulling.EXPIRES_S
# Dead letters wait for a person: a month, and at most a GiB of them.
_DEAD_LETTER_MAX_AGE = timedelta(days=30)
_DEAD_LETTER_MAX_BYTES = 1 << 30
_ERROR_CHARS = 500

_HANDLED = Counter(
    "chirp_events_handled_total",
    "Event deliveries handled by a consumer, by outcome (ack; nak = failed, retried later; outage = a dependency "
    "is down, retried later; dead_letter = given up on; skip = a replay meant for another consumer).",
    ["durable", "outcome"],
)
_DEAD_LETTERED = Counter(
    "chirp_events_dead_lettered_total",
    "Events a consumer gave up on and moved to the dead-letter stream CHIRP_DEADLETTER.",
    ["durable"],
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


# Default stream limits: a week of events covers any consumer outage we would not rebuild from the stores
# anyway, and the byte cap keeps a runaway publisher from filling the disk.
STREAM_MAX_AGE = timedelta(days=7)
STREAM_MAX_BYTES = 1 << 30


class Events:
    """A NATS connection with JetStream, for publishing and consuming Chirp events."""

    def __init__(self, nc: NATS, *, retry: RetryPolicy | None = None) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.retry = retry or RetryPolicy()
        self._stopping = asyncio.Event()
        self._loops: set[asyncio.Task[None]] = set()
        self._failures = _Failures()
        self._dead_letters_ready = False

    @classmethod
    async def connect(
        cls, url: str, *, service: str, connect_timeout: float = 10.0, retry: RetryPolicy | None = None
    ) -> Events:
        """Connect to the NATS server(s) at `url`; raises StartupError naming CHIRP_NATS_URL if unreachable.

        Once connected, the client reconnects forever: a NATS restart pauses events but does not end the process.
        `retry` is how consumers retry failed events (the process's settings; the defaults without it).
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
        return cls(nc, retry=retry)

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
        max_deliver: int | None = None,
        ack_wait: float = 30.0,
        backoff: Sequence[float] | None = None,
    ) -> None:
        """Handle the events on `subject` (wildcards allowed) with the durable consumer `durable` until stopped.

        Up to `concurrency` events are handled at once (1 keeps the stream's order). A handler running longer
        than `ack_wait` seconds is kept alive with progress acks. A failure is retried as `self.retry` says
        (`max_deliver` and `backoff` override its schedule for the event's own failures; see the module's
        docstring). Returns once `stop()` or `close()` is called and the handlers in flight finished;
        cancelling the task stops it at once (unfinished events are redelivered).
        """
        if max_deliver is not None or backoff is not None:
            policy = dataclasses.replace(
                self.retry,
                max_deliver=self.retry.max_deliver if max_deliver is None else max_deliver,
                backoff=self.retry.backoff if backoff is None else tuple(backoff),
            )  # validates them
        else:
            policy = self.retry
        if concurrency < 1:
            raise ValueError("concurrency must be ≥ 1")
        stream = stream_name(subject)
        await self._ensure_dead_letters()
        # The consumer also listens for replays of its own dead letters (see subjects), unless its filter is a
        # wildcard that takes them in already (JetStream refuses overlapping filters).
        replays = replay_subject(subject, durable)
        filters = [subject] if covers(subject, replays) else [subject, replays]
        config = api.ConsumerConfig(
            name=durable,
            durable_name=durable,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            filter_subject=filters[0] if len(filters) == 1 else None,
            filter_subjects=filters if len(filters) > 1 else None,
            max_deliver=-1,  # the kit decides: an outage must not use up an event's deliveries
            ack_wait=ack_wait,
            max_ack_pending=max(concurrency * 2, 64),
        )
        await self.js.add_consumer(stream, config)  # creates, or updates a changed config
        puller = Puller(self.nc, stream=stream, durable=durable, expires=_PULL_EXPIRES_S)
        log.info("consuming %s as %s", subject, durable)
        consumer = _Consumer(stream, durable, message_type, handler, policy, ack_wait)

        async def handle(msg: Msg) -> None:
            await self._handle(msg, consumer)

        task = asyncio.current_task()
        if task is not None:
            self._loops.add(task)
        stopping = asyncio.ensure_future(self._stopping.wait())
        # A window, not batches in lockstep: more is asked for once half the window is free, not after the slowest
        # event of the last batch, and each event is handled the moment it arrives (see pulling). With a window
        # of one, nothing is asked for while an event is handled.
        top_up = concurrency // 2 + 1
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while not self._stopping.is_set():
                while len(in_flight) < concurrency and (msg := puller.take()) is not None:
                    handling = asyncio.create_task(handle(msg))
                    in_flight.add(handling)
                    handling.add_done_callback(in_flight.discard)
                free = concurrency - len(in_flight) - puller.queued - puller.asked
                if free >= top_up:
                    if puller.refused:
                        # A consumer deleted under us, JetStream away: asking again at once would spin.
                        log.warning("pulling %s for %s refused (%s); asking again in 1s", subject, durable,
                                    puller.refused)  # fmt: skip
                        await asyncio.wait({stopping}, timeout=1.0)
                    try:
                        await puller.ask(free)
                    except (nats.errors.Error, OSError) as exc:
                        log.warning("pulling %s for %s failed (%r); retrying", subject, durable, exc)
                        await asyncio.wait({stopping}, timeout=1.0)
                        continue
                changed = asyncio.ensure_future(puller.changed(within=_PULL_EXPIRES_S))
                await asyncio.wait({changed, stopping, *in_flight}, return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
            if in_flight:
                await asyncio.wait(in_flight)  # stopping: the events in flight are finished, then acked
        finally:
            for handling in in_flight:
                handling.cancel()  # cancelled ourselves: unfinished events are redelivered
            stopping.cancel()
            if task is not None:
                self._loops.discard(task)
            for msg in await puller.close():
                with contextlib.suppress(Exception):
                    await msg.nak()  # arrived but not started: back at once rather than after ack_wait

    async def _ensure_dead_letters(self) -> None:
        if not self._dead_letters_ready:
            await self.ensure_stream("deadletter", max_age=_DEAD_LETTER_MAX_AGE, max_bytes=_DEAD_LETTER_MAX_BYTES)
            self._dead_letters_ready = True

    async def _handle(self, msg: Msg, c: _Consumer[Any]) -> None:
        meta = msg.metadata
        headers = msg.headers or {}
        subject, msg_id = msg.subject, headers.get(MSG_ID_HEADER, "")
        target = replay_target(msg.subject)
        if target is not None:
            if target != c.durable:
                # A wildcard consumer sees every replay of its stream; this one is another consumer's.
                await _settle(msg.ack(), c, "skip")
                return
            subject, msg_id = headers.get(Header.SUBJECT, subject), headers.get(Header.MSG_ID, "")
        delivery = Delivery(
            subject=subject,
            msg_id=msg_id,
            num_delivered=meta.num_delivered or 1,
            stream_sequence=meta.sequence.stream if meta.sequence else 0,
            published_at=meta.timestamp,
        )
        with _tracer.start_as_current_span(
            f"{subject} process",
            context=propagate.extract(headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": subject,
                "messaging.message.id": delivery.msg_id,
                "messaging.consumer.group.name": c.durable,
            },
        ) as span:
            try:
                event = c.message_type.FromString(msg.data)
            except DecodeError as exc:
                # Redelivering cannot fix a malformed payload.
                await self._dead_letter(msg, delivery, c, exc, failures=1)
                return
            try:
                async with _keep_alive(msg, c.ack_wait):
                    await c.handler(event, delivery)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await msg.nak()  # hand it back at once rather than after ack_wait
                raise
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                await self._failed(msg, delivery, c, exc)
                return
            self._failures.forget(c.key(delivery))
            await _settle(msg.ack(), c, "ack")

    async def _failed(self, msg: Msg, delivery: Delivery, c: _Consumer[Any], exc: Exception) -> None:
        n = delivery.num_delivered
        if dependency_down(exc):
            delay = c.policy.during_outage(n)
            log.warning(
                "%s: %s %s waits for a dependency (delivery %d), trying again in %gs: %s",
                c.durable, delivery.subject, delivery.msg_id, n, delay, describe(exc),
            )  # fmt: skip
            await _settle(msg.nak(delay=delay), c, "outage")
            return
        # Counted here, not by JetStream, whose count includes the outages. Kept in memory: a restart gives an
        # event its retries again, which only delays its dead letter.
        failures = self._failures.add(c.key(delivery))
        delay_or_none = c.policy.after_failure(failures)
        if delay_or_none is None:
            await self._dead_letter(msg, delivery, c, exc, failures=failures)
            return
        log.warning(
            "%s: %s %s failed (%d of %d), retrying in %gs: %s",
            c.durable, delivery.subject, delivery.msg_id, failures, c.policy.max_deliver, delay_or_none, describe(exc),
        )  # fmt: skip
        await _settle(msg.nak(delay=delay_or_none), c, "nak")

    async def _dead_letter(
        self, msg: Msg, delivery: Delivery, c: _Consumer[Any], exc: Exception, *, failures: int
    ) -> None:
        """Keep the event in CHIRP_DEADLETTER with where it came from and why it failed, then let it go."""
        # The event's other headers (its trace context) stay, so a replay joins the original trace.
        headers = {k: v for k, v in (msg.headers or {}).items() if k != MSG_ID_HEADER and not k.startswith("Chirp-")}
        headers |= {
            Header.SUBJECT: delivery.subject,
            Header.MSG_ID: delivery.msg_id,
            Header.STREAM: c.stream,
            Header.SEQUENCE: str(delivery.stream_sequence),
            Header.DURABLE: c.durable,
            Header.ERROR: _one_line(exc),
            Header.FAILURES: str(failures),
            Header.DELIVERIES: str(delivery.num_delivered),
            # Stored once if a crash makes us do this twice.
            MSG_ID_HEADER: f"deadletter:{c.stream}:{c.durable}:{delivery.stream_sequence}",
        }
        try:
            await self.js.publish(dead_letter_subject(c.stream, c.durable), msg.data, headers=headers)
        except (nats.errors.Error, OSError) as failure:
            # Not kept yet: it comes back and goes to the dead letters then.
            delay = c.policy.during_outage(delivery.num_delivered)
            log.warning("%s: cannot store a dead letter (%s); %s %s again in %gs",
                        c.durable, failure, delivery.subject, delivery.msg_id, delay)  # fmt: skip
            await _settle(msg.nak(delay=delay), c, "outage")
            return
        await _settle(msg.term(), c, "dead_letter")
        self._failures.forget(c.key(delivery))
        _DEAD_LETTERED.labels(c.durable).inc()
        log.error(
            "%s: %s %s moved to the dead letters (%s) after %d failed deliveries; "
            "`python -m services.kit.deadletters list --durable %s` shows them",
            c.durable, delivery.subject, delivery.msg_id, DEAD_LETTER_STREAM, failures, c.durable, exc_info=exc,
        )  # fmt: skip

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


@dataclass(frozen=True, slots=True)
class _Consumer(Generic[M]):
    """What handling one consumer's events needs."""

    stream: str
    durable: str
    message_type: type[M]
    handler: Handler[M]
    policy: RetryPolicy
    ack_wait: float

    def key(self, delivery: Delivery) -> tuple[str, str, int]:
        return (self.stream, self.durable, delivery.stream_sequence)


class _Failures:
    """How often each event failed for its own reason in this process, for the events failing right now.

    Bounded: the entries of events that never came back here (handled by another instance) are dropped oldest
    first, and such an event gets its retries again if it does come back.
    """

    _MAX = 10_000

    def __init__(self) -> None:
        self._counts: OrderedDict[tuple[str, str, int], int] = OrderedDict()

    def add(self, key: tuple[str, str, int]) -> int:
        count = self._counts.pop(key, 0) + 1
        self._counts[key] = count
        while len(self._counts) > self._MAX:
            self._counts.popitem(last=False)
        return count

    def forget(self, key: tuple[str, str, int]) -> None:
        self._counts.pop(key, None)


async def _settle(action: Awaitable[None], c: _Consumer[Any], outcome: str) -> None:
    """Ack, nak or term; if NATS is away the event is simply delivered again after ack_wait."""
    try:
        await action
    except (nats.errors.Error, OSError) as exc:
        log.warning("%s: could not %s a message (%s); it will be delivered again", c.durable, outcome, exc)
        return
    _HANDLED.labels(c.durable, outcome).inc()


def _one_line(exc: BaseException) -> str:
    text = describe(exc)  # one line: a header value cannot hold a line break
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 1] + "…"


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
