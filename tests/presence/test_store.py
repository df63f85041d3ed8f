"""The presence store against a real Valkey server: states with a real TTL, the schedule, the pending changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from services.presence.model import Change, State
from services.presence.store import PresenceStore
from tests.kit.support import eventually
from tests.presence.conftest import TTL

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _state(store: PresenceStore, user_id: int) -> State:
    return (await store.get_many([user_id]))[user_id].state


async def _lapsed(store: PresenceStore, user_id: int, state: State) -> None:
    """Wait until `user_id` reads `state` (a TTL lapsing: the keys say so before any sweep)."""

    async def check() -> bool:
        return await _state(store, user_id) == state

    await eventually(check, within=TTL * 10)


async def test_a_first_heartbeat_makes_the_user_online_and_announces_it(store: PresenceStore) -> None:
    before = int(time.time() * 1000)
    presence, change = await store.heartbeat(1, State.ONLINE)
    assert presence.state == State.ONLINE
    assert presence.last_seen_ms is not None and abs(presence.last_seen_ms - before) < 5000
    assert change == Change(1, 1, State.OFFLINE, State.ONLINE, presence.last_seen_ms)
    assert await store.pending() == [change]
    assert await store.next_due() == presence.last_seen_ms + round(TTL * 1000)


async def test_heartbeats_that_keep_the_state_announce_nothing(store: PresenceStore) -> None:
    await store.heartbeat(2, State.IDLE)
    presence, change = await store.heartbeat(2, State.IDLE)
    assert (presence.state, change) == (State.IDLE, None)
    assert len(await store.pending()) == 1


async def test_an_idle_heartbeat_while_an_online_one_is_fresh_stays_online(store: PresenceStore) -> None:
    await store.heartbeat(3, State.ONLINE)
    presence, change = await store.heartbeat(3, State.IDLE)
    assert (presence.state, change) == (State.ONLINE, None)


async def test_an_online_heartbeat_while_idle_is_a_change(store: PresenceStore) -> None:
    await store.heartbeat(4, State.IDLE)
    presence, change = await store.heartbeat(4, State.ONLINE)
    assert presence.state == State.ONLINE
    assert change is not None and (change.n, change.previous, change.state) == (2, State.IDLE, State.ONLINE)


async def test_online_lapses_to_idle_then_offline_and_the_sweep_announces_each_at_its_expiry(
    store: PresenceStore,
) -> None:
    await store.heartbeat(5, State.ONLINE)
    await asyncio.sleep(TTL / 2)  # time must pass for the IDLE heartbeat to outlive the ONLINE one
    idle, _ = await store.heartbeat(5, State.IDLE)
    assert idle.last_seen_ms is not None
    online_expiry = await store.next_due()
    assert online_expiry is not None

    await _lapsed(store, 5, State.IDLE)
    assert [c.state for c in await store.sweep()] == [State.IDLE]
    await _lapsed(store, 5, State.OFFLINE)
    assert [c.state for c in await store.sweep()] == [State.OFFLINE]
    assert await store.sweep() == []
    assert await store.next_due() is None

    changes = await store.pending()
    assert [(c.n, c.previous, c.state) for c in changes] == [
        (1, State.OFFLINE, State.ONLINE),
        (2, State.ONLINE, State.IDLE),
        (3, State.IDLE, State.OFFLINE),
    ]
    # Each change happened when its key expired, whenever the sweep ran.
    assert changes[1].at_ms == online_expiry
    assert changes[2].at_ms == idle.last_seen_ms + round(TTL * 1000)
    offline = (await store.get_many([5]))[5]
    assert (offline.state, offline.last_seen_ms) == (State.OFFLINE, idle.last_seen_ms)


async def test_a_late_sweep_still_announces_every_change_at_its_own_time(store: PresenceStore) -> None:
    online, _ = await store.heartbeat(14, State.ONLINE)
    await asyncio.sleep(TTL / 2)  # time must pass for the IDLE heartbeat to outlive the ONLINE one
    idle, _ = await store.heartbeat(14, State.IDLE)
    assert online.last_seen_ms is not None and idle.last_seen_ms is not None
    await _lapsed(store, 14, State.OFFLINE)  # nobody swept while IDLE came and went
    ttl_ms = round(TTL * 1000)
    assert [(c.previous, c.state, c.at_ms) for c in await store.sweep()] == [
        (State.ONLINE, State.IDLE, online.last_seen_ms + ttl_ms),
        (State.IDLE, State.OFFLINE, idle.last_seen_ms + ttl_ms),
    ]


async def test_a_heartbeat_after_the_expiry_but_before_the_sweep_continues_the_chain(store: PresenceStore) -> None:
    await store.heartbeat(6, State.ONLINE)
    await _lapsed(store, 6, State.OFFLINE)
    # Consumers never heard the user go OFFLINE, so coming back ONLINE is no change for them.
    presence, change = await store.heartbeat(6, State.ONLINE)
    assert (presence.state, change) == (State.ONLINE, None)
    assert await store.sweep() == []  # rescheduled by the heartbeat: nothing is due
    assert [c.state for c in await store.pending()] == [State.ONLINE]


async def test_reads_answer_every_id_and_offline_without_last_seen_for_unknown_ones(store: PresenceStore) -> None:
    await store.heartbeat(7, State.ONLINE)
    await store.heartbeat(8, State.IDLE)
    found = await store.get_many([9, 7, 8, 7])
    assert set(found) == {7, 8, 9}
    assert (found[7].state, found[8].state, found[9].state) == (State.ONLINE, State.IDLE, State.OFFLINE)
    assert found[9].last_seen_ms is None and found[7].last_seen_ms is not None
    assert await store.get_many([]) == {}


async def test_forgotten_changes_are_no_longer_pending(store: PresenceStore) -> None:
    _, first = await store.heartbeat(10, State.ONLINE)
    _, second = await store.heartbeat(11, State.ONLINE)
    assert first is not None and second is not None
    await store.forget([first])
    assert await store.pending() == [second]
    await store.forget([])


async def test_concurrent_sweeps_announce_each_change_once(make_store: Callable[..., PresenceStore]) -> None:
    store = make_store(ttl=0.2)
    users = range(100, 400)
    for start in range(0, len(users), 50):  # the client's pool holds 100 connections
        await asyncio.gather(*(store.heartbeat(u, State.ONLINE) for u in users[start : start + 50]))
    await _lapsed(store, users[-1], State.OFFLINE)

    async def until_empty() -> list[Change]:
        settled: list[Change] = []
        while batch := await store.sweep(limit=7):
            settled += batch
        return settled

    results = await asyncio.gather(*(until_empty() for _ in range(4)))
    offline = sorted(c.user_id for r in results for c in r)
    assert offline == list(users)
    assert len([c for c in await store.pending() if c.state == State.OFFLINE]) == len(users)


async def test_the_state_expires_in_redis_itself(store: PresenceStore, redis: Redis) -> None:
    # What makes a user OFFLINE is Redis's own TTL, not this process: nothing here runs while the key lapses.
    await store.heartbeat(12, State.ONLINE)
    ttls = [await redis.pttl(k) for k in await redis.keys(f"{store._prefix}:{{12}}:*")]
    assert sorted(t > 0 for t in ttls) == [True, True, True]  # on, seen and meta expire; idle does not exist
    assert min(ttls) <= round(TTL * 1000)


async def test_a_heartbeat_must_be_online_or_idle(store: PresenceStore) -> None:
    with pytest.raises(ValueError):
        await store.heartbeat(13, State.OFFLINE)
