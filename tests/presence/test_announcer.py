"""Publishing presence changes on a real NATS JetStream: msg ids, pending changes, the sweeper loop."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import nats
import nats.errors
import pytest
import pytest_asyncio
from chirp.presence.v1 import presence_events_pb2, presence_pb2
from google.protobuf.message import Message

from services.kit.events import Events
from services.presence.announcer import SUBJECT, Announcer
from services.presence.model import State
from services.presence.store import PresenceStore
from tests.kit.support import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def events(nats_url: str) -> AsyncIterator[Events]:
    connected = await Events.connect(nats_url, service="presence-test")
    await connected.ensure_stream("presence")
    yield connected
    await connected.close()


class Heard:
    """The `chirp.presence.changed` events of some users, as a core NATS subscriber sees them."""

    def __init__(self) -> None:
        self.events: list[tuple[str, presence_events_pb2.PresenceChanged]] = []

    async def on_message(self, msg: Any) -> None:
        event = presence_events_pb2.PresenceChanged.FromString(msg.data)
        self.events.append((msg.headers.get("Nats-Msg-Id", ""), event))

    def of(self, user_id: int) -> list[tuple[int, int]]:
        return [(e.previous_state, e.state) for _, e in self.events if e.user_id == user_id]


@pytest_asyncio.fixture(loop_scope="session")
async def heard(nats_url: str) -> AsyncIterator[Heard]:
    listener = Heard()
    nc = await nats.connect(nats_url)
    await nc.subscribe(SUBJECT, cb=listener.on_message)
    await nc.flush()
    yield listener
    await nc.close()


def _user() -> int:
    return random.randrange(1, 2**62)


ONLINE, IDLE, OFFLINE = (presence_pb2.PRESENCE_STATE_ONLINE, presence_pb2.PRESENCE_STATE_IDLE,
                         presence_pb2.PRESENCE_STATE_OFFLINE)  # fmt: skip


async def test_a_change_is_published_with_its_msg_id_and_forgotten(
    store: PresenceStore, events: Events, heard: Heard
) -> None:
    user = _user()
    _, change = await store.heartbeat(user, State.ONLINE)
    assert change is not None
    await Announcer(store, events).publish_soon(change)
    await eventually(lambda: heard.of(user), within=5)
    assert heard.of(user) == [(OFFLINE, ONLINE)]
    msg_id, event = next((m, e) for m, e in heard.events if e.user_id == user)
    assert msg_id == change.msg_id
    assert event.occurred_at.ToMilliseconds() == change.at_ms
    assert await store.pending() == []


async def test_publishing_a_change_twice_stores_it_once(store: PresenceStore, events: Events) -> None:
    _, change = await store.heartbeat(_user(), State.IDLE)
    assert change is not None
    announcer = Announcer(store, events)
    before = (await events.js.stream_info("CHIRP_PRESENCE")).state.messages
    await announcer.publish([change])
    await announcer.publish([change])  # e.g. the request and a sweep racing
    assert (await events.js.stream_info("CHIRP_PRESENCE")).state.messages == before + 1


class _Down:
    """Events while NATS is unreachable."""

    async def publish(self, subject: str, message: Message, *, msg_id: str) -> None:
        raise nats.errors.NoServersError


async def test_a_change_whose_publish_failed_stays_pending_and_the_next_sweep_publishes_it(
    store: PresenceStore, events: Events, heard: Heard
) -> None:
    user = _user()
    _, change = await store.heartbeat(user, State.ONLINE)
    assert change is not None
    down: Any = _Down()
    await Announcer(store, down).publish_soon(change)  # logs, does not fail the heartbeat
    assert await store.pending() == [change]
    with pytest.raises(nats.errors.NoServersError):
        await Announcer(store, down).sweep()
    assert await Announcer(store, events).sweep() == 1
    await eventually(lambda: heard.of(user), within=5)
    assert await store.pending() == []


async def test_the_sweeper_announces_idle_and_offline_as_ttls_lapse(
    make_store: Callable[..., PresenceStore], events: Events, heard: Heard
) -> None:
    store = make_store(ttl=0.3)
    announcer = Announcer(store, events)
    sweeper = asyncio.create_task(announcer.run(interval=0.02))
    try:
        user = _user()
        await store.heartbeat(user, State.ONLINE)
        await asyncio.sleep(0.15)  # time must pass for the IDLE heartbeat to outlive the ONLINE one
        await store.heartbeat(user, State.IDLE)
        await eventually(lambda: len(heard.of(user)) == 3, within=5)
        assert heard.of(user) == [(OFFLINE, ONLINE), (ONLINE, IDLE), (IDLE, OFFLINE)]
        times = [e.occurred_at.ToMilliseconds() for _, e in heard.events if e.user_id == user]
        assert times == sorted(times)
    finally:
        sweeper.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sweeper
