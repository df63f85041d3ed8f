"""Conversations and messages on a real SQLite file, with the user and graph services replaced by an in-memory
`People`: uniqueness of direct conversations, request ids under concurrency, inbox order, hidden senders, and
the outbox rows that become `chirp.dm.message_sent`."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Collection, Sequence
from pathlib import Path
from typing import cast

import pytest
import pytest_asyncio
from chirp.dm.v1 import dm_events_pb2, dm_pb2
from chirp.user.v1 import user_pb2

from services.dm.conversations import Conversations
from services.dm.people import People
from services.dm.store import DIRECT, GROUP, MIGRATIONS, DmStore
from services.kit import errors
from services.kit.events import Events
from services.kit.outbox import Outbox
from services.kit.snowflake import Snowflake
from services.kit.sqlite import Database

pytestmark = pytest.mark.asyncio(loop_scope="session")


class FakePeople:
    """The slice of `People` that Conversations uses, over sets of follows and blocks."""

    def __init__(self) -> None:
        self.follows: set[tuple[int, int]] = set()
        self.blocks: set[tuple[int, int]] = set()

    async def relationships(self, source: int, targets: Collection[int]) -> dict[int, user_pb2.Relationship]:
        return {
            t: user_pb2.Relationship(
                following=(source, t) in self.follows,
                followed_by=(t, source) in self.follows,
                blocking=(source, t) in self.blocks,
                blocked_by=(t, source) in self.blocks,
            )
            for t in targets
        }

    async def blocked_by_viewer(self, viewer: int, user_ids: Collection[int]) -> set[int]:
        return {u for u in user_ids if (viewer, u) in self.blocks}

    async def summaries(self, user_ids: Collection[int]) -> dict[int, user_pb2.UserSummary]:
        return {u: user_pb2.UserSummary(id=u, username=f"user{u}") for u in user_ids}


def users(*ids: int) -> Sequence[user_pb2.User]:
    return [user_pb2.User(id=i, username=f"user{i}") for i in ids]


class Env:
    def __init__(self, db: Database, store: DmStore, people: FakePeople, conversations: Conversations) -> None:
        self.db, self.store, self.people, self.conversations = db, store, people, conversations

    async def events(self) -> list[tuple[str, dm_events_pb2.MessageSent]]:
        rows = await self.db.fetch_all("SELECT msg_id, payload FROM kit_outbox ORDER BY id")
        return [(r[0], dm_events_pb2.MessageSent.FromString(r[1])) for r in rows]


@pytest_asyncio.fixture(loop_scope="session")
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    db = await Database.open(tmp_path / "dm.db", MIGRATIONS)
    store, people = DmStore(db), FakePeople()
    # The outbox only queues rows here: nothing relays them (no NATS), which lets the tests read them.
    outbox = Outbox(db, cast(Events, None))
    clock = itertools.count(1_000)
    conversations = Conversations(store, cast(People, people), outbox, Snowflake(1), clock=lambda: float(next(clock)))
    yield Env(db, store, people, conversations)
    await db.close()


async def test_one_direct_conversation_per_pair_even_when_both_start_it_at_once(env: Env) -> None:
    started = await asyncio.gather(*(env.conversations.start(a, users(b)) for a, b in [(1, 2), (2, 1)] * 5))
    assert len({c.id for c in started}) == 1
    conversation = started[0]
    assert conversation.kind == DIRECT and set(conversation.participants) == {1, 2}
    assert conversation.accepted == {conversation.creator_id}
    group = await env.conversations.start(1, users(2, 3))
    assert group.kind == GROUP and group.participants == (1, 2, 3)


async def test_a_request_id_makes_one_conversation_and_one_message_under_concurrency(env: Env) -> None:
    groups = await asyncio.gather(*(env.conversations.start(1, users(2, 3), request_id="g") for _ in range(5)))
    assert len({g.id for g in groups}) == 1
    sent = await asyncio.gather(*(env.conversations.send(2, groups[0].id, "hi", request_id="m") for _ in range(5)))
    assert len({m.id for m in sent}) == 1
    assert [m.text for m in await env.store.messages(groups[0].id, before=2**63 - 1, limit=10)] == ["hi"]
    events = await env.events()
    assert [msg_id for msg_id, _ in events] == [f"dm.message_sent:{sent[0].id}"]
    event = events[0][1]
    assert (event.sender_id, sorted(event.recipient_ids)) == (2, [1, 3])


async def test_sending_checks_the_rules_in_direct_conversations_only(env: Env) -> None:
    direct = await env.conversations.start(1, users(2))
    group = await env.conversations.start(1, users(2, 3))
    env.people.blocks.add((2, 1))
    with pytest.raises(errors.PermissionDenied) as refused:
        await env.conversations.send(1, direct.id, "hello?")
    assert refused.value.reason == "BLOCKED" and refused.value.metadata == {"username": "user2"}
    await env.conversations.send(1, group.id, "in the group")  # groups: anyone in them may send
    await env.store.set_policy(3, dm_pb2.MESSAGE_POLICY_FOLLOWING)
    with pytest.raises(errors.PermissionDenied) as not_allowed:
        await env.conversations.start(4, users(3))
    assert not_allowed.value.reason == "MESSAGES_NOT_ALLOWED"
    env.people.follows.add((3, 4))
    await env.conversations.start(4, users(3))


async def test_the_inbox_orders_by_activity_and_hides_blocked_senders_in_groups(env: Env) -> None:
    a = await env.conversations.start(1, users(2))
    b = await env.conversations.start(1, users(3, 4))
    c = await env.conversations.start(1, users(5))
    page = await env.conversations.inbox(1, before=2**63 - 1, limit=10)
    assert [x.id for x in page.conversations] == [c.id, b.id, a.id]
    await env.conversations.send(4, b.id, "from 4")
    await env.conversations.send(3, b.id, "from 3")
    await env.conversations.send(2, a.id, "from 2")
    env.people.blocks.add((1, 3))
    page = await env.conversations.inbox(1, before=2**63 - 1, limit=2)
    assert [x.id for x in page.conversations] == [a.id, b.id]
    assert page.latest[b.id].text == "from 4"  # 1 blocks 3: the group shows 4's message as the latest
    assert c.id not in page.latest
    rest = await env.conversations.inbox(1, before=page.cursors[-1], limit=2)
    assert [x.id for x in rest.conversations] == [c.id]
    assert [m.text for m in await env.conversations.messages(1, b.id, before=2**63 - 1, limit=10)] == ["from 4"]
    assert len(await env.conversations.messages(4, b.id, before=2**63 - 1, limit=10)) == 2
    with pytest.raises(errors.NotFound):
        await env.conversations.messages(9, b.id, before=2**63 - 1, limit=10)


async def test_naming_oneself_is_invalid(env: Env) -> None:
    with pytest.raises(errors.InvalidArgument) as caught:
        await env.conversations.start(1, users(2, 1))
    assert caught.value.reason == "CANNOT_MESSAGE_SELF"
