"""The graph store on a real SQLite file: migrations, relationships, newest-first pages, the suggestion query."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.graph.model import NO_RELATION, Candidate, Relation
from services.graph.store import MIGRATIONS, GraphStore
from services.kit.snowflake import Snowflake, timestamp_of
from services.kit.sqlite import Database

ids = Snowflake(7)


async def _follow(store: GraphStore, follower: int, followee: int) -> None:
    async with store.writing() as w:
        await w.add_follow(follower, followee, follow_id=ids.next_id(), at=time.time())


async def _follows(store: GraphStore, *edges: tuple[int, int]) -> None:
    for follower, followee in edges:
        await _follow(store, follower, followee)


async def test_migration_2_gives_existing_follows_unique_time_ordered_ids(tmp_path: Path) -> None:
    path = tmp_path / "graph.db"
    old = await Database.open(path, MIGRATIONS[:1])  # a database made before follow ids existed
    at = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
    rows = [(1, 9, at), (2, 9, at), (3, 9, at + 60), (9, 1, at + 120)]  # two in the same millisecond
    async with old.transaction() as tx:
        await tx.execute_many("INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?, ?, ?)", rows)
    await old.close()

    db = await Database.open(path, MIGRATIONS)
    store = GraphStore(db)
    followers = await store.followers(9, before=None, limit=10)
    assert [e.user_id for e in followers] == [3, 2, 1]  # newest first; a tie keeps a stable order
    assert len({e.edge_id for e in followers}) == 3
    assert timestamp_of(followers[0].edge_id) == datetime(2026, 3, 1, 0, 1, tzinfo=UTC)
    assert [e.user_id for e in await store.followees(9, before=None, limit=10)] == [1]
    # New follows sort after the migrated ones.
    await _follow(store, 4, 9)
    assert [e.user_id for e in await store.followers(9, before=None, limit=1)] == [4]
    await db.close()


async def test_reopening_a_migrated_database_applies_nothing_twice(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "graph.db", MIGRATIONS)
    await _follows(GraphStore(db), (1, 2))
    await db.close()
    db = await Database.open(tmp_path / "graph.db", MIGRATIONS)
    assert await GraphStore(db).following_ids(1, after=0, limit=10) == [2]
    await db.close()


async def test_relationships_read_every_flag_from_the_sources_side(store: GraphStore) -> None:
    async with store.writing() as w:
        await w.add_follow(1, 2, follow_id=ids.next_id(), at=0)
        await w.add_follow(3, 1, follow_id=ids.next_id(), at=0)
        await w.add_request(1, 4, request_id=ids.next_id(), at=0)
        await w.add_block(1, 5, at=0)
        await w.add_block(6, 1, at=0)
        await w.add_mute(1, 7, at=0)
        await w.add_request(8, 1, request_id=ids.next_id(), at=0)  # a request *to* the source shows nowhere
    relations = await store.relationships(1, [2, 3, 4, 5, 6, 7, 8, 9, 1, 2])
    assert relations == {
        2: Relation(following=True),
        3: Relation(followed_by=True),
        4: Relation(follow_requested=True),
        5: Relation(blocking=True),
        6: Relation(blocked_by=True),
        7: Relation(muting=True),
        8: NO_RELATION,
        9: NO_RELATION,  # unknown
        1: NO_RELATION,  # the source itself
    }
    assert await store.relationship(2, 1) == Relation(followed_by=True)
    assert await store.relationship(5, 1) == Relation(blocked_by=True)
    assert await store.relationship(7, 1) == NO_RELATION  # a mute is the muter's secret


async def test_relationships_of_many_targets_are_read_in_chunks(store: GraphStore) -> None:
    targets = list(range(1000, 2200))
    async with store.writing() as w:
        for t in targets[::100]:
            await w.add_follow(1, t, follow_id=ids.next_id(), at=0)
    relations = await store.relationships(1, targets)
    assert len(relations) == len(targets)
    assert sorted(t for t, r in relations.items() if r.following) == targets[::100]


async def test_lists_page_newest_first_without_repeats(store: GraphStore) -> None:
    followers = list(range(10, 17))
    for f in followers:
        await _follow(store, f, 1)
    await _follow(store, 1, 99)  # the other direction is another list
    seen: list[int] = []
    before = None
    while True:
        page = await store.followers(1, before=before, limit=3)
        seen += [e.user_id for e in page]
        if len(page) < 3:
            break
        before = page[-1].edge_id
    assert seen == followers[::-1]
    assert [e.user_id for e in await store.followees(1, before=None, limit=10)] == [99]


async def test_follow_requests_page_newest_first(store: GraphStore) -> None:
    async with store.writing() as w:
        for requester in (5, 3, 4):
            await w.add_request(requester, 1, request_id=ids.next_id(), at=0)
    first = await store.follow_requests(1, before=None, limit=2)
    assert [e.user_id for e in first] == [4, 3]
    assert [e.user_id for e in await store.follow_requests(1, before=first[-1].edge_id, limit=2)] == [5]


async def test_id_lists_page_by_user_id(store: GraphStore) -> None:
    for f in (30, 10, 20):
        await _follow(store, f, 1)
    assert await store.follower_ids(1, after=0, limit=2) == [10, 20]
    assert await store.follower_ids(1, after=20, limit=2) == [30]
    assert await store.following_ids(30, after=0, limit=2) == [1]


async def test_writes_report_whether_they_changed_something(store: GraphStore) -> None:
    async with store.writing() as w:
        assert await w.add_follow(1, 2, follow_id=1, at=0)
        assert not await w.add_follow(1, 2, follow_id=2, at=0)
        assert await w.remove_follow(1, 2)
        assert not await w.remove_follow(1, 2)
        assert await w.add_mute(1, 2, at=0)
        assert not await w.add_mute(1, 2, at=0)
        assert await w.add_block(1, 2, at=0)
        assert await w.is_blocking(1, 2)
        assert not await w.is_blocking(2, 1)


async def test_a_failed_transaction_leaves_nothing(store: GraphStore) -> None:
    with pytest.raises(RuntimeError):
        async with store.writing() as w:
            await w.add_follow(1, 2, follow_id=1, at=0)
            raise RuntimeError("fails after writing")
    assert await store.relationship(1, 2) == NO_RELATION


# A small world for the suggestions: ME follows F1, F2, F3.
ME, F1, F2, F3 = 1, 11, 12, 13
S_THREE, S_TWO_POPULAR, S_TWO, S_ONE = 21, 22, 23, 24


async def _world(store: GraphStore) -> None:
    await _follows(store, (ME, F1), (ME, F2), (ME, F3))
    await _follows(store, (F1, S_THREE), (F2, S_THREE), (F3, S_THREE))
    await _follows(store, (F1, S_TWO_POPULAR), (F2, S_TWO_POPULAR), (90, S_TWO_POPULAR), (91, S_TWO_POPULAR))
    await _follows(store, (F1, S_TWO), (F3, S_TWO))
    await _follows(store, (F2, S_ONE))
    await _follows(store, (F1, F2))  # F2 is a friend of a friend, but already followed
    await _follows(store, (F3, ME))  # the caller is a friend of a friend of themselves
    await _follows(store, (90, 95))  # 90 is not followed by ME: 95 is no friend of a friend


async def test_suggestions_rank_by_mutual_followees_then_followers(store: GraphStore) -> None:
    await _world(store)
    ranked = await store.suggestions(ME, after=None, limit=10, followee_sample=100)
    assert ranked == [
        Candidate(S_THREE, mutual=3, followers=3),
        Candidate(S_TWO_POPULAR, mutual=2, followers=4),
        Candidate(S_TWO, mutual=2, followers=2),
        Candidate(S_ONE, mutual=1, followers=1),
    ]


async def test_suggestions_page_by_rank_without_repeats(store: GraphStore) -> None:
    await _world(store)
    await _follows(store, (F1, 31), (F1, 30), (F1, 32))  # three ties (1, 1): ordered by id
    everything = await store.suggestions(ME, after=None, limit=100, followee_sample=100)
    assert [c.user_id for c in everything][-4:] == [S_ONE, 30, 31, 32]
    paged: list[Candidate] = []
    after = None
    while page := await store.suggestions(ME, after=after, limit=2, followee_sample=100):
        paged += page
        after = page[-1]
    assert paged == everything


async def test_suggestions_exclude_requested_blocked_either_way_and_muted(store: GraphStore) -> None:
    await _world(store)
    async with store.writing() as w:
        await w.add_request(ME, S_THREE, request_id=ids.next_id(), at=0)
        await w.add_block(ME, S_TWO_POPULAR, at=0)
        await w.add_block(S_TWO, ME, at=0)
        await w.add_mute(ME, S_ONE, at=0)
    assert await store.suggestions(ME, after=None, limit=10, followee_sample=100) == []


async def test_suggestions_count_only_the_most_recent_followees(store: GraphStore) -> None:
    await _follows(store, (F1, 40), (F2, 41), (ME, F1), (ME, F2))  # F2 is the newer followee
    ranked = await store.suggestions(ME, after=None, limit=10, followee_sample=1)
    assert [c.user_id for c in ranked] == [41]


async def test_suggestions_on_a_reed98_sized_graph_answer_quickly(store: GraphStore) -> None:
    # About the size of the Reed98 Facebook graph (962 users, ~18.8k friendships, so ~37.6k follows): a
    # dense random graph where the caller follows ~40 users who follow ~40 each.
    import random

    rng = random.Random(98)
    edges = {(a, b) for a in range(1, 963) for b in rng.sample(range(1, 963), 39) if a != b}
    async with store.writing() as w:
        await w.tx.execute_many(
            "INSERT INTO follows (follower_id, followee_id, follow_id, created_at) VALUES (?, ?, ?, 0)",
            [(a, b, ids.next_id()) for a, b in edges],
        )
    started = time.perf_counter()
    ranked = await store.suggestions(1, after=None, limit=20, followee_sample=1000)
    elapsed = time.perf_counter() - started
    assert len(ranked) == 20
    assert ranked == sorted(ranked, key=lambda c: (-c.mutual, -c.followers, c.user_id))
    followed = set(await store.following_ids(1, after=0, limit=1000))
    assert not followed & {c.user_id for c in ranked}
    assert elapsed < 0.5, f"the suggestion query took {elapsed:.3f}s"
