"""The three collections against the real Typesense: writes that converge in any order, the tweet filters and
orders, people search, hashtag counts and autocompletion, and what happens when Typesense is away."""

from __future__ import annotations

import socket
import time
import uuid
from typing import Any

import pytest
from chirp.user.v1 import user_pb2

from services.kit.config import StartupError
from services.kit.errors import Unavailable
from services.search.documents import RECENCY_DOUBLING_S, Counts, tweet_document
from services.search.hashtag_index import HashtagMatch
from services.search.schema import Collections, ensure_collections, prepare, tweets_schema
from services.search.tweet_index import TweetFilter
from services.search.typesense import Typesense
from services.search.user_index import UserHit
from tests.search.conftest import Indexes
from tests.stack.fixtures import TypesenseServer

NOW = time.time()
DAY = 86400


def doc(
    tweet_id: int,
    text: str,
    *,
    author_id: int = 1,
    protected: bool = False,
    tags: tuple[str, ...] = (),
    at: float = NOW,
    counts: Counts = Counts(),  # noqa: B008  (frozen)
) -> dict[str, Any]:
    return tweet_document(
        tweet_id=tweet_id,
        author_id=author_id,
        author_protected=protected,
        text=text,
        hashtags=tags,
        created_at=at,
        counts=counts,
    )


async def latest(indexes: Indexes, where: TweetFilter, *, before: int | None = None, limit: int = 50) -> list[int]:
    hits, _ = await indexes.tweets.latest(where, before=before, limit=limit)
    return [h.tweet_id for h in hits]


async def top(indexes: Indexes, where: TweetFilter) -> list[int]:
    hits, _ = await indexes.tweets.top(where, page=1, per_page=50)
    return [h.tweet_id for h in hits]


# Collections


async def test_collections_are_created_once_and_gain_the_fields_they_lack(ts: Typesense) -> None:
    collections = Collections.with_prefix(f"c{uuid.uuid4().hex[:10]}_")
    try:
        assert await ensure_collections(ts, collections) == [
            collections.tweets,
            collections.users,
            collections.hashtags,
        ]
        assert await ensure_collections(ts, collections) == []
        # An older deployment's collection without a field the code now needs.
        await ts.drop_collection(collections.tweets)
        old = tweets_schema(collections.tweets)
        old["fields"] = [f for f in old["fields"] if f["name"] != "top_score"]
        assert await ts.ensure_collection(old)
        await ensure_collections(ts, collections)
        info = await ts._request("GET", f"/collections/{collections.tweets}")
        assert "top_score" in {f["name"] for f in info.json()["fields"]}
    finally:
        for name in (collections.tweets, collections.users, collections.hashtags):
            await ts.drop_collection(name)


# Writes converge whatever order events are handled in


async def test_a_tweet_is_added_once_and_a_redelivery_changes_nothing(indexes: Indexes) -> None:
    assert await indexes.tweets.add(doc(11, "hello chirp"))
    assert not await indexes.tweets.add(doc(11, "hello chirp"))
    assert await latest(indexes, TweetFilter(text="chirp")) == [11]


async def test_a_deletion_before_its_creation_keeps_the_tweet_deleted(indexes: Indexes) -> None:
    await indexes.tweets.tombstone(21)
    assert not await indexes.tweets.add(doc(21, "too late"))
    await indexes.tweets.put([doc(21, "too late", counts=Counts(likes=3))])  # a late refresh, or a backfill
    assert await latest(indexes, TweetFilter(text="late")) == []
    assert await indexes.tweets.get(21) is None


async def test_a_deletion_after_its_creation_hides_it_and_refreshes_cannot_bring_it_back(indexes: Indexes) -> None:
    await indexes.tweets.add(doc(31, "short lived"))
    await indexes.tweets.tombstone(31)
    await indexes.tweets.tombstone(31)  # redelivered
    await indexes.tweets.put([doc(31, "short lived", counts=Counts(likes=1))])
    assert await latest(indexes, TweetFilter(text="lived")) == []


async def test_a_refresh_before_the_creation_is_kept(indexes: Indexes) -> None:
    await indexes.tweets.put([doc(41, "liked early", counts=Counts(likes=5))])
    assert not await indexes.tweets.add(doc(41, "liked early"))  # the creation's zero counts do not win
    stored = await indexes.tweets.get(41)
    assert stored is not None and stored["like_count"] == 5


# Filters and orders


async def test_every_word_must_match_with_typos_tolerated(indexes: Indexes) -> None:
    await indexes.tweets.put(
        [doc(1, "the quick brown fox"), doc(2, "a quick turtle"), doc(3, "brown bread"), doc(4, "quickly")]
    )
    assert await latest(indexes, TweetFilter(text="quick brown")) == [1]
    assert await latest(indexes, TweetFilter(text="quick")) == [2, 1]  # whole words: not "quickly"
    assert await latest(indexes, TweetFilter(text="QUICK Turtle")) == [2]
    assert await latest(indexes, TweetFilter(text="turtel")) == [2]  # a typo
    assert await latest(indexes, TweetFilter(text="quick elephant")) == []


async def test_phrases_need_their_words_in_order_and_together(indexes: Indexes) -> None:
    await indexes.tweets.put([doc(1, "open source is great"), doc(2, "source open"), doc(3, "open the source")])
    assert await latest(indexes, TweetFilter(text='"open source"')) == [1]
    assert await latest(indexes, TweetFilter(text="open source")) == [3, 2, 1]


async def test_hashtags_authors_dates_and_protection_filter(indexes: Indexes) -> None:
    await indexes.tweets.put(
        [
            doc(1, "a", author_id=7, tags=("python", "chirp"), at=NOW - 3 * DAY),
            doc(2, "b", author_id=7, tags=("python",), at=NOW - 2 * DAY),
            doc(3, "c", author_id=8, tags=("python",), at=NOW - DAY, protected=True),
            doc(4, "d", author_id=8, at=NOW),
        ]
    )
    assert await latest(indexes, TweetFilter(hashtags=("python",))) == [3, 2, 1]
    assert await latest(indexes, TweetFilter(hashtags=("python", "chirp"))) == [1]
    assert await latest(indexes, TweetFilter(author_id=8)) == [4, 3]
    assert await latest(indexes, TweetFilter(since=int(NOW - 2 * DAY))) == [4, 3, 2]
    assert await latest(indexes, TweetFilter(until=int(NOW - 2 * DAY))) == [1]
    assert await latest(indexes, TweetFilter(since=int(NOW - 2.5 * DAY), until=int(NOW - 0.5 * DAY))) == [3, 2]
    assert await latest(indexes, TweetFilter(public_only=True)) == [4, 2, 1]
    assert await latest(indexes, TweetFilter(), before=3) == [2, 1]


async def test_top_puts_the_best_text_match_first_then_engagement_and_recency(indexes: Indexes) -> None:
    await indexes.tweets.put(
        [
            doc(1, "chirp", at=NOW - DAY, counts=Counts(likes=50, retweets=10)),  # old but much engaged
            doc(2, "chirp", at=NOW - DAY, counts=Counts(likes=1)),
            doc(3, "chirp", at=NOW, counts=Counts(likes=1)),  # as engaged as 2, but newer
            doc(4, "chirp", at=NOW - 3 * RECENCY_DOUBLING_S, counts=Counts()),
            doc(5, "chirpy chirp", at=NOW, counts=Counts()),
        ]
    )
    assert await top(indexes, TweetFilter(text="chirp")) == [1, 3, 5, 2, 4]
    assert await top(indexes, TweetFilter()) == [1, 3, 5, 2, 4]
    # Text relevance comes first: a single typo-free match beats engagement.
    await indexes.tweets.put([doc(6, "chirp chirped", at=NOW - 10 * DAY, counts=Counts(likes=1000))])
    assert (await top(indexes, TweetFilter(text="chirped")))[0] == 6


async def test_protection_changes_mark_every_tweet_and_recount_hashtags(indexes: Indexes) -> None:
    await indexes.tweets.put(
        [doc(i, f"t{i}", author_id=9, tags=("mine", f"tag{i}")) for i in range(1, 301)]
        + [doc(999, "x", tags=("mine",))]
    )
    await indexes.hashtags.recount(["mine"])
    assert await indexes.hashtags.prefix("mine", page=1, per_page=5) == ([_m("mine", 301)], 1)
    changed = await indexes.tweets.set_author_protected(9, True)
    assert changed == {"mine", *(f"tag{i}" for i in range(1, 301))}
    assert await latest(indexes, TweetFilter(public_only=True)) == [999]
    assert await indexes.tweets.set_author_protected(9, True) == set()  # redelivered: nothing to change
    await indexes.hashtags.recount(changed)
    assert (await indexes.hashtags.prefix("mine", page=1, per_page=5))[0] == [_m("mine", 1)]
    assert (await indexes.hashtags.prefix("tag1", page=1, per_page=5))[0] == []  # only protected tweets use it
    await indexes.tweets.set_author_protected(9, False)
    assert len(await latest(indexes, TweetFilter(public_only=True), limit=250)) == 250


def _m(name: str, count: int) -> HashtagMatch:
    return HashtagMatch(name, count)


# Hashtags


async def test_hashtag_counts_are_set_not_added_and_autocomplete_by_use(indexes: Indexes) -> None:
    await indexes.tweets.put(
        [
            doc(1, "a", tags=("python",)),
            doc(2, "b", tags=("python", "pytest")),
            doc(3, "c", tags=("pypy",)),
            doc(4, "d", tags=("python",), protected=True),
            doc(5, "e", tags=("rust",)),
        ]
    )
    for _ in range(3):  # redeliveries recount to the same numbers
        await indexes.hashtags.recount(["python", "pytest", "pypy", "rust"])
    names, found = await indexes.hashtags.prefix("py", page=1, per_page=10)
    assert names == [_m("python", 2), _m("pypy", 1), _m("pytest", 1)] and found == 3
    assert (await indexes.hashtags.prefix("py", page=2, per_page=2))[0] == [_m("pytest", 1)]
    await indexes.tweets.tombstone(3)
    await indexes.hashtags.recount(["pypy"])
    assert [m.name for m in (await indexes.hashtags.prefix("py", page=1, per_page=10))[0]] == ["python", "pytest"]


async def test_hashtag_autocomplete_finds_every_tag_a_short_prefix_starts(indexes: Indexes) -> None:
    tags = [f"zq{n}" for n in range(30)]
    await indexes.tweets.put([doc(100 + n, "t", tags=(tag,)) for n, tag in enumerate(tags)])
    await indexes.tweets.put([doc(200, "t", tags=("zq17",)), doc(201, "t", tags=("zq17",))])
    await indexes.hashtags.recount(tags)
    names, found = await indexes.hashtags.prefix("zq", page=1, per_page=5)
    assert found == 30 and names[0] == _m("zq17", 3)


# Users


def _user(user_id: int, username: str, display: str, *, followers: int = 0, discoverable: bool = True) -> user_pb2.User:
    return user_pb2.User(
        id=user_id, username=username, display_name=display, follower_count=followers, discoverable=discoverable
    )


async def test_people_search_by_username_or_display_name_prefix(indexes: Indexes) -> None:
    await indexes.users.put(
        [
            _user(1, "alice_smith", "Alice Smith", followers=3),
            _user(2, "Alice", "Wonderland Queen", followers=1, discoverable=False),
            _user(3, "bob", "Émile Zola", followers=10),
            _user(4, "smithy", "Black Smith", followers=7),
            _user(5, "carol", "Malice", followers=100),
        ]
    )

    async def prefix(text: str) -> list[int]:
        hits, _ = await indexes.users.prefix(text, page=1, per_page=10)
        return [h.user_id for h in hits]

    assert await prefix("ali") == [1]  # not the hidden alice, not "Malice"
    assert await prefix("smi") == [4, 1]  # most followed first
    assert await prefix("emile") == [3]
    assert await prefix("alice smi") == [1]
    assert await indexes.users.exact("ALICE") == UserHit(2)
    assert await indexes.users.exact("nobody") is None
    assert await indexes.users.exact("not a username") is None
    await indexes.users.put([_user(2, "Alice", "Alice Again", followers=1, discoverable=True)])  # changes apply
    assert await prefix("ali") == [1, 2]


async def test_people_search_finds_every_user_a_short_prefix_starts(indexes: Indexes) -> None:
    # Thirty usernames share a prefix (each its own word): all are found, the most followed first.
    await indexes.users.put([_user(300 + n, f"zed{n}", "Z", followers=n) for n in range(30)])
    hits, found = await indexes.users.prefix("zed", page=1, per_page=3)
    assert found == 30 and [h.user_id for h in hits] == [329, 328, 327]


# When Typesense is away or refuses us


async def test_an_unreachable_typesense_is_unavailable_not_an_internal_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    client = Typesense(f"http://127.0.0.1:{port}", "key", timeout=1)
    try:
        with pytest.raises(Unavailable) as raised:
            await client.search("tweets", {"q": "*"})
        assert raised.value.reason == "SEARCH_INDEX_UNAVAILABLE"
        with pytest.raises(StartupError, match="CHIRP_TYPESENSE_URL"):
            await prepare(client, Collections.with_prefix("x_"), url=f"http://127.0.0.1:{port}", within=0.5)
    finally:
        await client.close()


async def test_a_wrong_api_key_stops_the_start_naming_the_variable(typesense: TypesenseServer) -> None:
    client = Typesense(typesense.url, "not the key")
    try:
        with pytest.raises(StartupError, match="CHIRP_TYPESENSE_API_KEY"):
            await prepare(client, Collections.with_prefix("x_"), url=typesense.url, within=5)
    finally:
        await client.close()


async def test_a_missing_collection_is_unavailable_for_a_while_not_an_internal_error(ts: Typesense) -> None:
    # What searches and the indexer meet while `backfill --fresh` has dropped a collection.
    for call in (
        ts.search("no_such_collection", {"q": "*", "query_by": "text"}),
        ts.import_documents("no_such_collection", [{"id": "1"}], action="emplace"),
    ):
        with pytest.raises(Unavailable) as raised:
            await call
        assert raised.value.reason == "SEARCH_INDEX_UNAVAILABLE"
