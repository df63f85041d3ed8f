"""The notification rules on a real SQLite store: grouping and its window, once per actor, redelivery, the
read mark, removals, and the digest bookkeeping."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.kit.snowflake import Snowflake
from services.kit.sqlite import Database
from services.notification.inbox import Inbox
from services.notification.model import Action, Change, Kind, Stored
from services.notification.store import MIGRATIONS, NotificationStore

WINDOW = 3600.0
T0 = 1_800_000_000.0

_users = itertools.count(100)
_events = itertools.count()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[NotificationStore]:
    db = await Database.open(tmp_path / "notification.db", MIGRATIONS)
    yield NotificationStore(db)
    await db.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def changes() -> list[Change]:
    return []


@pytest.fixture
def inbox(store: NotificationStore, clock: Clock, changes: list[Change]) -> Inbox:
    return Inbox(store, Snowflake(3), group_window=WINDOW, on_change=changes.append, clock=clock)


def user() -> int:
    return next(_users)


def key() -> str:
    return f"test:{next(_events)}"


async def act(inbox: Inbox, recipient: int, kind: Kind, actor: int, tweet: int = 0, *, at: float = T0) -> list[Change]:
    return await inbox.record([Action(recipient, kind, actor, tweet, at)], event_key=key())


async def listing(store: NotificationStore, recipient: int) -> list[Stored]:
    return await store.page(recipient, before=None, limit=100)


async def test_likes_of_one_tweet_fold_into_one_notification_with_the_latest_actor_first(
    inbox: Inbox, store: NotificationStore, changes: list[Change]
) -> None:
    alice, bob, carol, dave = user(), user(), user(), user()
    first = await act(inbox, alice, Kind.LIKE, bob, tweet=7, at=T0)
    await act(inbox, alice, Kind.LIKE, carol, tweet=7, at=T0 + 10)
    await act(inbox, alice, Kind.LIKE, dave, tweet=7, at=T0 + 20)
    await act(inbox, alice, Kind.LIKE, bob, tweet=8, at=T0 + 30)  # another tweet: its own notification
    items = await listing(store, alice)
    assert [(i.kind, i.tweet_id, i.actor_count, i.actors) for i in items] == [
        (Kind.LIKE, 8, 1, (bob,)),
        (Kind.LIKE, 7, 3, (dave, carol, bob)),
    ]
    grouped = items[1]
    assert grouped.id == first[0].notification_id  # updated in place: the id stays
    assert (grouped.created_at, grouped.updated_at) == (T0, T0 + 20)
    assert not grouped.read
    assert [c.notification_id for c in changes] == [grouped.id, grouped.id, grouped.id, items[0].id]
    assert await store.unread_count(alice) == 2


async def test_each_kind_groups_apart_and_replies_quotes_mentions_never_group(
    inbox: Inbox, store: NotificationStore
) -> None:
    alice, bob, carol = user(), user(), user()
    for actor in (bob, carol):
        await act(inbox, alice, Kind.RETWEET, actor, tweet=7)
        await act(inbox, alice, Kind.FOLLOW, actor)
        await act(inbox, alice, Kind.FOLLOW_REQUEST, user())
    await act(inbox, alice, Kind.REPLY, bob, tweet=20)
    await act(inbox, alice, Kind.REPLY, bob, tweet=21)
    await act(inbox, alice, Kind.QUOTE, carol, tweet=22)
    await act(inbox, alice, Kind.MENTION, carol, tweet=23)
    summary = sorted((i.kind, i.actor_count) for i in await listing(store, alice))
    assert summary == [
        (Kind.RETWEET, 2),
        (Kind.REPLY, 1),
        (Kind.REPLY, 1),
        (Kind.QUOTE, 1),
        (Kind.MENTION, 1),
        (Kind.FOLLOW, 2),
        (Kind.FOLLOW_REQUEST, 2),
    ]


async def test_a_read_notification_takes_no_more_actors(inbox: Inbox, store: NotificationStore) -> None:
    alice, bob, carol = user(), user(), user()
    [first] = await act(inbox, alice, Kind.LIKE, bob, tweet=7)
    assert await inbox.mark_read(alice, up_to_id=first.notification_id) == 0
    [second] = await act(inbox, alice, Kind.LIKE, carol, tweet=7, at=T0 + 1)
    assert second.notification_id != first.notification_id
    items = await listing(store, alice)
    assert [(i.id, i.read, i.actors) for i in items] == [
        (second.notification_id, False, (carol,)),
        (first.notification_id, True, (bob,)),
    ]


async def test_grouping_stops_at_the_window(inbox: Inbox, store: NotificationStore) -> None:
    alice, bob, carol = user(), user(), user()
    await act(inbox, alice, Kind.FOLLOW, bob, at=T0)
    await act(inbox, alice, Kind.FOLLOW, carol, at=T0 + WINDOW + 1)
    assert [i.actor_count for i in await listing(store, alice)] == [1, 1]


async def test_a_redelivered_event_changes_nothing(inbox: Inbox, store: NotificationStore) -> None:
    alice, bob = user(), user()
    action = Action(alice, Kind.MENTION, bob, 99, T0)
    assert len(await inbox.record([action], event_key="chirp.tweet.created:tweet.created:99")) == 1
    for _ in range(3):
        assert await inbox.record([action], event_key="chirp.tweet.created:tweet.created:99") == []
    assert [i.actor_count for i in await listing(store, alice)] == [1]


async def test_liking_unliking_and_liking_again_notifies_once_per_window(
    inbox: Inbox, store: NotificationStore
) -> None:
    alice, bob = user(), user()
    [first] = await act(inbox, alice, Kind.LIKE, bob, tweet=7, at=T0)
    assert await act(inbox, alice, Kind.LIKE, bob, tweet=7, at=T0 + 60) == []  # a new like event, same like
    await inbox.mark_read(alice, up_to_id=first.notification_id)
    assert await act(inbox, alice, Kind.LIKE, bob, tweet=7, at=T0 + 120) == []  # even once read
    later = await act(inbox, alice, Kind.LIKE, bob, tweet=7, at=T0 + WINDOW + 60)
    assert len(later) == 1 and later[0].notification_id != first.notification_id
    assert [i.actor_count for i in await listing(store, alice)] == [1, 1]


async def test_nobody_is_notified_of_their_own_actions(inbox: Inbox, store: NotificationStore) -> None:
    alice = user()
    assert await act(inbox, alice, Kind.LIKE, alice, tweet=7) == []
    assert await act(inbox, alice, Kind.FOLLOW, alice) == []
    assert await listing(store, alice) == []


async def test_the_follow_after_an_accepted_request_is_not_news(inbox: Inbox, store: NotificationStore) -> None:
    alice, bob, carol = user(), user(), user()
    await act(inbox, alice, Kind.FOLLOW_REQUEST, bob)
    assert await act(inbox, alice, Kind.FOLLOW, bob, at=T0 + 5) == []  # alice accepted bob's request
    assert len(await act(inbox, alice, Kind.FOLLOW, carol, at=T0 + 6)) == 1
    assert sorted((i.kind, i.actors) for i in await listing(store, alice)) == [
        (Kind.FOLLOW, (carol,)),
        (Kind.FOLLOW_REQUEST, (bob,)),
    ]


async def test_one_event_can_notify_many(inbox: Inbox, store: NotificationStore) -> None:
    alice, bob, carol, dave = user(), user(), user(), user()
    made = await inbox.record(
        [
            Action(bob, Kind.REPLY, alice, 50, T0),
            Action(carol, Kind.MENTION, alice, 50, T0),
            Action(dave, Kind.MENTION, alice, 50, T0),
        ],
        event_key=key(),
    )
    assert sorted(c.recipient_id for c in made) == sorted([bob, carol, dave])
    for recipient, kind in ((bob, Kind.REPLY), (carol, Kind.MENTION), (dave, Kind.MENTION)):
        assert [(i.kind, i.tweet_id, i.actors) for i in await listing(store, recipient)] == [(kind, 50, (alice,))]


async def test_forgetting_an_actor_takes_them_out_of_groups_and_drops_what_they_alone_did(
    inbox: Inbox, store: NotificationStore, changes: list[Change]
) -> None:
    alice, bob, carol = user(), user(), user()
    await act(inbox, alice, Kind.LIKE, bob, tweet=7)
    await act(inbox, alice, Kind.LIKE, carol, tweet=7)
    await act(inbox, alice, Kind.REPLY, bob, tweet=30)
    await act(inbox, alice, Kind.FOLLOW, bob)
    changes.clear()
    assert await inbox.forget_actor([(alice, bob), (bob, alice)], event_key=key()) == [Change(alice)]
    assert changes == [Change(alice)]
    assert [(i.kind, i.actor_count, i.actors) for i in await listing(store, alice)] == [(Kind.LIKE, 1, (carol,))]
    assert await store.unread_count(alice) == 1


async def test_a_deleted_tweet_takes_its_notifications_along(inbox: Inbox, store: NotificationStore) -> None:
    alice, bob, carol = user(), user(), user()
    await act(inbox, alice, Kind.LIKE, bob, tweet=7)
    await act(inbox, carol, Kind.MENTION, bob, tweet=7)
    await act(inbox, alice, Kind.LIKE, bob, tweet=8)
    assert sorted(c.recipient_id for c in await inbox.forget_tweet(7, event_key=key())) == sorted([alice, carol])
    assert [i.tweet_id for i in await listing(store, alice)] == [8]
    assert await listing(store, carol) == []


async def test_the_read_mark_only_rises_and_never_past_the_newest_notification(
    inbox: Inbox, store: NotificationStore
) -> None:
    alice, bob, carol = user(), user(), user()
    [a] = await act(inbox, alice, Kind.LIKE, bob, tweet=1)
    [b] = await act(inbox, alice, Kind.LIKE, bob, tweet=2)
    assert await inbox.mark_read(alice, up_to_id=a.notification_id) == 1
    assert await inbox.mark_read(alice, up_to_id=1) == 1  # lower: no effect, b is still unread
    assert await inbox.mark_read(alice, up_to_id=2**62) == 0  # far beyond: everything now
    [c] = await act(inbox, alice, Kind.LIKE, carol, tweet=3)  # ...but not what comes later
    assert await store.unread_count(alice) == 1
    assert [(i.id, i.read) for i in await listing(store, alice)] == [
        (c.notification_id, False),
        (b.notification_id, True),
        (a.notification_id, True),
    ]
    assert await inbox.mark_read(user(), up_to_id=5) == 0  # someone with no notifications


async def test_pages_go_newest_first_and_filter_by_kind(inbox: Inbox, store: NotificationStore) -> None:
    alice = user()
    for n in range(5):
        await act(inbox, alice, Kind.MENTION, user(), tweet=100 + n)
        await act(inbox, alice, Kind.REPLY, user(), tweet=200 + n)
    everything = await store.page(alice, before=None, limit=100)
    assert [i.id for i in everything] == sorted((i.id for i in everything), reverse=True)
    first = await store.page(alice, before=None, limit=3, kinds=[Kind.MENTION])
    rest = await store.page(alice, before=first[-1].id, limit=3, kinds=[Kind.MENTION])
    assert [i.tweet_id for i in first + rest] == [104, 103, 102, 101, 100]


async def test_digest_bookkeeping(inbox: Inbox, store: NotificationStore, clock: Clock) -> None:
    alice, bob = user(), user()
    clock.now = T0 + 5
    [a] = await act(inbox, alice, Kind.LIKE, bob, tweet=1)
    assert await store.pending_state(alice) == (T0 + 5, T0 + 5)
    assert await store.due_for_digest(pending_before=T0 + 5, last_digest_before=T0, limit=10) == [(T0 + 5, alice)]
    assert await store.due_for_digest(pending_before=T0 + 4, last_digest_before=T0, limit=10) == []
    clock.now = T0 + 10
    await act(inbox, alice, Kind.LIKE, user(), tweet=1)  # folds in: still pending since the first
    assert await store.pending_state(alice) == (T0 + 5, T0 + 10)
    async with store.transaction() as tx:  # a digest covering up to T0 + 8: the later activity stays pending
        await store.finish_digest(tx, alice, sent_at=T0 + 8, covered_up_to=T0 + 8)
    assert await store.pending_state(alice) == (T0 + 10, T0 + 10)
    assert await store.due_for_digest(pending_before=T0 + 100, last_digest_before=T0 + 7, limit=10) == []
    await inbox.mark_read(alice, up_to_id=a.notification_id + 10**12)  # everything read: nothing pending
    assert await store.pending_state(alice) == (None, T0 + 10)


async def test_users_due_a_digest_come_longest_waiting_first_a_page_at_a_time(
    inbox: Inbox, store: NotificationStore, clock: Clock
) -> None:
    waiting = []
    for n in range(5):
        clock.now = T0 + (n // 2)  # two at a time share a time: the user id orders them
        waiting.append(recipient := user())
        await act(inbox, recipient, Kind.FOLLOW, user())
    seen, cursor = [], None
    while page := await store.due_for_digest(pending_before=T0 + 10, last_digest_before=T0, limit=2, after=cursor):
        seen += [user_id for _, user_id in page]
        cursor = page[-1]
    assert seen == waiting
