"""The classifier on a real SQLite file with a fake clock: facts in, classes out, changes announced once."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from chirp.graph.v1 import graph_events_pb2
from chirp.presence.v1 import presence_events_pb2, presence_pb2

from services.classification.classifier import Classifier
from services.classification.consumers import Learner
from services.classification.rules import UserClass, with_followers, with_presence, with_write
from services.kit.events import Delivery
from services.kit.sqlite import Transaction
from services.kit.timestamps import to_timestamp
from tests.classification.conftest import START, Clock, Published

L, A, P, N, F = UserClass.LIVE, UserClass.ACTIVE, UserClass.PASSIVE, UserClass.INACTIVE, UserClass.FAMOUS


def _delivery(subject: str, msg_id: str, n: int = 1) -> Delivery:
    return Delivery(subject, msg_id, n, 1, datetime.fromtimestamp(START, UTC))


def _followed(actor: int, target: int, at: float) -> graph_events_pb2.Followed:
    return graph_events_pb2.Followed(actor_user_id=actor, target_user_id=target, occurred_at=to_timestamp(at))


def _unfollowed(actor: int, target: int, at: float) -> graph_events_pb2.Unfollowed:
    return graph_events_pb2.Unfollowed(actor_user_id=actor, target_user_id=target, occurred_at=to_timestamp(at))


def _presence(user: int, state: int, at: float) -> presence_events_pb2.PresenceChanged:
    return presence_events_pb2.PresenceChanged(user_id=user, state=state, occurred_at=to_timestamp(at))  # type: ignore[arg-type]


async def test_an_unknown_user_is_inactive_with_nothing_known(classifier: Classifier) -> None:
    view = classifier.view(42)
    assert (view.user_class, view.follower_count, view.last_active_at, view.updated_at) == (N, 0, None, None)


async def test_a_write_makes_a_user_active_and_announces_it(classifier: Classifier, published: Published) -> None:
    await classifier.apply({1: lambda f: with_write(f, START - 5)}, at=START - 5)
    view = classifier.view(1)
    assert (view.user_class, view.last_active_at, view.updated_at) == (A, START - 5, START - 5)
    assert await published.take() == [(1, N, A, START - 5)]
    await classifier.apply({1: lambda f: with_write(f, START)}, at=START)
    assert await published.take() == []  # still ACTIVE: nothing to announce


async def test_follows_count_once_per_event_however_often_it_is_delivered(
    classifier: Classifier, published: Published
) -> None:
    learner = Learner(classifier)
    for n in (1, 2, 3):  # a redelivered event carries the same msg id
        await learner.on_followed(_followed(10, 20, START), _delivery("chirp.graph.followed", "graph-f-1", n))
    assert classifier.view(20).follower_count == 1
    assert classifier.view(10).user_class == A  # following is writing
    await learner.on_unfollowed(_unfollowed(10, 20, START), _delivery("chirp.graph.unfollowed", "graph-u-1"))
    await learner.on_unfollowed(_unfollowed(10, 20, START), _delivery("chirp.graph.unfollowed", "graph-u-1", 2))
    assert classifier.view(20).follower_count == 0
    assert await published.take() == [(10, N, A, START)]


async def test_crossing_the_famous_threshold_both_ways_is_announced(
    classifier: Classifier, published: Published, clock: Clock
) -> None:
    learner = Learner(classifier)
    for follower in (1, 2, 3):
        event = _followed(follower, 99, START)
        await learner.on_followed(event, _delivery("chirp.graph.followed", f"f-{follower}"))
    assert classifier.view(99).user_class == F
    assert [e for e in await published.take() if e[0] == 99] == [(99, N, F, START)]
    clock.now += 1
    await learner.on_unfollowed(_unfollowed(1, 99, clock.now), _delivery("chirp.graph.unfollowed", "u-1"))
    assert classifier.view(99).user_class == N
    assert await published.take() == [(99, F, N, clock.now)]


async def test_an_unfollow_counted_before_its_follow_never_shows_a_negative_count(classifier: Classifier) -> None:
    await classifier.apply({5: lambda f: with_followers(f, -1)}, at=START)
    assert classifier.view(5).follower_count == 0
    await classifier.apply({5: lambda f: with_followers(f, +1)}, at=START)
    assert classifier.view(5).follower_count == 0


async def test_presence_makes_a_user_live_until_offline_and_late_events_do_not_undo_it(
    classifier: Classifier, published: Published, clock: Clock
) -> None:
    learner = Learner(classifier)
    online, offline = presence_pb2.PRESENCE_STATE_ONLINE, presence_pb2.PRESENCE_STATE_OFFLINE
    idle = presence_pb2.PRESENCE_STATE_IDLE
    subject = "chirp.presence.changed"
    await learner.on_presence_changed(_presence(7, online, START), _delivery(subject, "p-1"))
    assert classifier.view(7).user_class == L
    assert classifier.view(7).last_seen_at == clock.now  # while live, seen is now
    await learner.on_presence_changed(_presence(7, idle, START + 10), _delivery(subject, "p-2"))
    assert classifier.view(7).user_class == L
    clock.now += 70
    await learner.on_presence_changed(_presence(7, offline, START + 70), _delivery(subject, "p-3"))
    await learner.on_presence_changed(_presence(7, online, START), _delivery(subject, "p-1", 2))  # late
    view = classifier.view(7)
    assert (view.user_class, view.last_seen_at) == (P, START + 70)
    assert await published.take() == [(7, N, L, START), (7, L, P, START + 70)]


async def test_time_moves_active_to_passive_to_inactive_and_the_sweep_announces_each_at_the_lapse(
    classifier: Classifier, published: Published, clock: Clock
) -> None:
    await classifier.apply({1: lambda f: with_write(f, START)}, at=START)
    await published.take()
    clock.now = START + 99.9
    assert await classifier.sweep() == 0
    assert classifier.view(1).user_class == A
    clock.now = START + 150  # the active window (100) lapsed at START + 100
    view = classifier.view(1)
    assert (view.user_class, view.updated_at) == (P, START + 100)  # answers do not wait for the sweep
    assert await classifier.sweep() == 1
    assert await classifier.sweep() == 0
    clock.now = START + 5000  # the passive window (1000) lapsed at START + 1000
    assert await classifier.sweep() == 1
    assert await published.take() == [(1, A, P, START + 100), (1, P, N, START + 1000)]


async def test_the_chain_of_one_user_has_numbered_msg_ids(classifier: Classifier, published: Published) -> None:
    await classifier.apply({3: lambda f: with_presence(f, live=True, at=START)}, at=START)
    await classifier.apply({3: lambda f: with_presence(f, live=False, at=START + 1)}, at=START + 1)
    assert await published.msg_ids() == ["classification-changed-3-1", "classification-changed-3-2"]


async def test_a_visit_brings_an_inactive_user_back_at_once_and_only_writes_when_it_matters(
    classifier: Classifier, published: Published, clock: Clock, make_classifier: Callable[..., Classifier]
) -> None:
    await classifier.apply({4: lambda f: with_followers(f, +1)}, at=START)  # known, but INACTIVE
    view = await classifier.visit(4)
    assert (view.user_class, view.last_seen_at) == (P, START)
    assert await published.take() == [(4, N, P, START)]
    clock.now += 10
    assert (await classifier.visit(4)).last_seen_at == START  # within a minute of the last: not written
    clock.now += 60
    assert (await classifier.visit(4)).last_seen_at == START + 70
    assert await published.take() == []
    reloaded = make_classifier()
    await reloaded.load()
    assert reloaded.view(4) == classifier.view(4)


async def test_a_restart_keeps_every_fact_and_announces_what_time_changed_while_down(
    classifier: Classifier, published: Published, clock: Clock, make_classifier: Callable[..., Classifier]
) -> None:
    learner = Learner(classifier)
    await learner.on_followed(_followed(1, 2, START), _delivery("chirp.graph.followed", "f-1"))
    before = [classifier.view(1), classifier.view(2)]
    await published.take()

    restarted = make_classifier()
    await restarted.load()
    assert [restarted.view(1), restarted.view(2)] == before
    # The follow is remembered as counted: its redelivery after the restart counts nothing.
    await Learner(restarted).on_followed(_followed(1, 2, START), _delivery("chirp.graph.followed", "f-1", 2))
    assert restarted.view(2).follower_count == 1

    clock.now = START + 500  # down past the active window
    again = make_classifier()
    await again.load()
    assert await again.sweep() == 1
    assert await published.take() == [(1, A, P, START + 100)]


async def test_concurrent_changes_are_committed_together_and_each_counts_once(
    classifier: Classifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    learner = Learner(classifier)
    store = classifier._store
    transactions = 0
    original = store.transaction

    @contextlib.asynccontextmanager
    async def counted() -> AsyncIterator[Transaction]:
        nonlocal transactions
        transactions += 1
        async with original() as tx:
            yield tx

    monkeypatch.setattr(store, "transaction", counted)
    deliveries = [
        learner.on_followed(_followed(1000 + n, 77, START), _delivery("chirp.graph.followed", f"g-{n % 150}"))
        for n in range(200)  # 50 of them redeliveries, some in the same batch as their first delivery
    ]
    await asyncio.gather(*deliveries)
    assert classifier.view(77).follower_count == 150
    assert transactions < 20  # far fewer than one per event


async def test_a_failed_commit_fails_every_change_in_it_and_applies_none(
    classifier: Classifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(classifier._store, "save", broken)
    results = await asyncio.gather(
        *(classifier.apply({u: lambda f: with_write(f, START)}, at=START) for u in (1, 2, 3)), return_exceptions=True
    )
    assert all(isinstance(r, sqlite3.OperationalError) for r in results)
    monkeypatch.undo()
    assert [classifier.view(u).user_class for u in (1, 2, 3)] == [N, N, N]
    await classifier.apply({1: lambda f: with_write(f, START)}, at=START)  # and the next one works
    assert classifier.view(1).user_class == A
