"""Posting, replying, quoting, retweeting and deleting, on a real SQLite store with the other services faked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from chirp.media.v1 import media_pb2

from services.kit.errors import ChirpError
from services.tweet.writing import Draft
from tests.tweet.fakes import Domain, domain

ALICE, BOB, CAROL, DAVE = 101, 102, 103, 104


@pytest.fixture
async def d(tmp_path: Path) -> AsyncIterator[Domain]:
    async with domain(tmp_path) as running:
        for user_id, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol"), (DAVE, "dave")):
            running.peers.add(user_id, name)
        yield running


def _refused(exc: pytest.ExceptionInfo[ChirpError]) -> tuple[grpc.StatusCode, str]:
    return exc.value.code, exc.value.reason


async def _post(d: Domain, author: int, text: str = "hello", **fields: object) -> int:
    posted = await d.writer.post(author, Draft(text=text, **fields))  # type: ignore[arg-type]
    return posted.tweet.id


# -- text -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (" \n\t\u3000", "EMPTY_TWEET"),
        ("x" * 281, "TWEET_TOO_LONG"),
        ("漢" * 141, "TWEET_TOO_LONG"),
        ("bad \ufffe", "INVALID_CHARACTERS"),
        ("nul \x00 inside", "INVALID_CHARACTERS"),
        ("bell \x07", "INVALID_CHARACTERS"),
    ],
)
async def test_bad_text_is_refused_naming_the_field(d: Domain, text: str, reason: str) -> None:
    with pytest.raises(ChirpError) as refused:
        await _post(d, ALICE, text)
    assert _refused(refused) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert [field for field, _ in refused.value.violations] == ["text"]
    assert await d.events() == []


async def test_a_tweet_of_exactly_280_weighted_characters_is_posted(d: Domain) -> None:
    tweet_id = await _post(d, ALICE, "漢" * 139 + "ab")
    assert (await d.raw(tweet_id)) is not None


async def test_a_post_is_stored_normalized_with_its_event(d: Domain) -> None:
    tweet_id = await _post(d, ALICE, "Cafe\u0301 #Chirp @bob @nobody $ACME chirp.dev")
    row = await d.raw(tweet_id)
    assert row is not None and row["text"] == "Café #Chirp @bob @nobody $ACME chirp.dev"
    [(subject, event)] = await d.events()
    assert subject == "chirp.tweet.created"
    assert (event.tweet_id, event.author_id, event.conversation_id) == (tweet_id, ALICE, tweet_id)
    assert [h.tag for h in event.entities.hashtags] == ["Chirp"]
    assert [(m.user_id, m.username, m.start, m.end) for m in event.entities.mentions] == [(BOB, "bob", 12, 16)]
    assert [(u.url, u.expanded_url) for u in event.entities.urls] == [("chirp.dev", "https://chirp.dev")]
    assert [c.symbol for c in event.entities.cashtags] == ["ACME"]


@pytest.mark.parametrize("block", [(BOB, ALICE), (ALICE, BOB)])
async def test_a_block_either_way_keeps_a_mention_from_resolving(d: Domain, block: tuple[int, int]) -> None:
    d.peers.blocks.add(block)
    tweet_id = await _post(d, ALICE, "hi @bob and @carol")
    [(_, event)] = await d.events()
    assert event.tweet_id == tweet_id
    assert [m.username for m in event.entities.mentions] == ["carol"]


async def test_mentions_resolve_ignoring_case_and_keep_the_registered_name(d: Domain) -> None:
    await _post(d, ALICE, "hi @BOB")
    [(_, event)] = await d.events()
    assert [(m.user_id, m.username, m.start, m.end) for m in event.entities.mentions] == [(BOB, "bob", 3, 7)]


# -- replies and quotes ---------------------------------------------------------------------------------------


async def test_replies_join_the_root_conversation_and_count(d: Domain) -> None:
    root = await _post(d, ALICE, "root")
    reply = await _post(d, BOB, "first", reply_to_tweet_id=root)
    nested = await _post(d, CAROL, "second", reply_to_tweet_id=reply)
    for tweet_id, parent, parent_author in ((reply, root, ALICE), (nested, reply, BOB)):
        row = await d.raw(tweet_id)
        assert row is not None
        assert (row["conversation_id"], row["reply_to_tweet_id"], row["reply_to_user_id"]) == (
            root, parent, parent_author
        )  # fmt: skip
    assert await d.ancestors_of(nested) == [root, reply]
    counters = await d.store.counters([root, reply, nested])
    assert [counters[i].replies for i in (root, reply, nested)] == [1, 1, 0]
    created = [e for _, e in await d.events()]
    assert [(e.reply_to_tweet_id, e.reply_to_user_id, e.conversation_id) for e in created] == [
        (0, 0, root), (root, ALICE, root), (reply, BOB, root)
    ]  # fmt: skip


async def test_a_reply_to_a_retweet_replies_to_the_original(d: Domain) -> None:
    original = await _post(d, ALICE, "original")
    retweet = (await d.writer.retweet(BOB, original)).tweet.id
    reply = await _post(d, CAROL, "reply", reply_to_tweet_id=retweet)
    row = await d.raw(reply)
    assert row is not None and row["reply_to_tweet_id"] == original


async def test_replying_to_what_does_not_exist_or_cannot_be_seen_is_not_found(d: Domain) -> None:
    d.peers.add(200, "locked", protected=True)
    hidden = await _post(d, 200, "followers only")
    for target in (999_999, hidden):
        with pytest.raises(ChirpError) as refused:
            await _post(d, BOB, "reply", reply_to_tweet_id=target)
        assert _refused(refused) == (grpc.StatusCode.NOT_FOUND, "TWEET_NOT_FOUND")
    d.peers.follows.add((BOB, 200))  # an approved follower may reply
    await _post(d, BOB, "reply", reply_to_tweet_id=hidden)
    assert (await d.store.counters([hidden]))[hidden].replies == 1


@pytest.mark.parametrize("block", [(ALICE, BOB), (BOB, ALICE)])
@pytest.mark.parametrize("kind", ["reply_to_tweet_id", "quote_tweet_id"])
async def test_a_block_either_way_stops_replies_and_quotes(d: Domain, block: tuple[int, int], kind: str) -> None:
    target = await _post(d, ALICE, "mine")
    d.peers.blocks.add(block)
    with pytest.raises(ChirpError) as refused:
        await _post(d, BOB, "answer", **{kind: target})
    assert _refused(refused) == (grpc.StatusCode.PERMISSION_DENIED, "BLOCKED")
    counters = (await d.store.counters([target]))[target]
    assert (counters.replies, counters.quotes) == (0, 0)


async def test_a_quote_counts_on_the_quoted_tweet(d: Domain) -> None:
    quoted = await _post(d, ALICE, "quotable")
    quote = await _post(d, BOB, "so true", quote_tweet_id=quoted)
    assert (await d.store.counters([quoted]))[quoted].quotes == 1
    created = [e for _, e in await d.events()]
    assert (created[-1].tweet_id, created[-1].quote_tweet_id, created[-1].quote_tweet_author_id) == (
        quote, quoted, ALICE
    )  # fmt: skip


# -- idempotent create ----------------------------------------------------------------------------------------


async def test_the_same_request_id_answers_the_first_tweet(d: Domain) -> None:
    first = await _post(d, ALICE, "once", request_id="r-1")
    again = await _post(d, ALICE, "once", request_id="r-1")
    other_author = await _post(d, BOB, "once", request_id="r-1")
    assert again == first and other_author != first
    assert len(await d.events()) == 2


async def test_a_retry_after_the_tweet_was_deleted_does_not_post_it_again(d: Domain) -> None:
    first = await _post(d, ALICE, "once", request_id="r-2")
    await d.writer.delete(ALICE, first)
    with pytest.raises(ChirpError) as refused:
        await _post(d, ALICE, "once", request_id="r-2")
    assert _refused(refused) == (grpc.StatusCode.NOT_FOUND, "TWEET_NOT_FOUND")


# -- retweets -------------------------------------------------------------------------------------------------


async def test_a_retweet_is_a_row_made_once_per_user_and_original(d: Domain) -> None:
    original = await _post(d, ALICE, "original")
    first = (await d.writer.retweet(BOB, original)).tweet
    again = (await d.writer.retweet(BOB, first.id)).tweet  # addressing the row addresses the original
    assert again.id == first.id and first.retweet_of_id == original and first.text == ""
    events = [e for _, e in await d.events()]
    assert [(e.tweet_id, e.retweeted_tweet_id, e.retweeted_tweet_author_id) for e in events[1:]] == [
        (first.id, original, ALICE)
    ]


async def test_protected_tweets_cannot_be_retweeted_even_by_their_author(d: Domain) -> None:
    d.peers.add(200, "locked", protected=True)
    d.peers.follows.add((BOB, 200))
    tweet_id = await _post(d, 200, "mine")
    for user in (200, BOB):
        with pytest.raises(ChirpError) as refused:
            await d.writer.retweet(user, tweet_id)
        assert _refused(refused) == (grpc.StatusCode.PERMISSION_DENIED, "ACCOUNT_PROTECTED")
    with pytest.raises(ChirpError) as refused:
        await d.writer.retweet(CAROL, tweet_id)  # not a follower: the tweet does not exist for her
    assert _refused(refused) == (grpc.StatusCode.NOT_FOUND, "TWEET_NOT_FOUND")


async def test_retweeting_across_a_block_is_refused(d: Domain) -> None:
    tweet_id = await _post(d, ALICE, "mine")
    d.peers.blocks.add((ALICE, BOB))
    with pytest.raises(ChirpError) as refused:
        await d.writer.retweet(BOB, tweet_id)
    assert _refused(refused) == (grpc.StatusCode.PERMISSION_DENIED, "BLOCKED")


async def test_unretweet_deletes_the_row_once(d: Domain) -> None:
    original = await _post(d, ALICE, "original")
    row = (await d.writer.retweet(BOB, original)).tweet
    await d.writer.unretweet(BOB, original)
    await d.writer.unretweet(BOB, original)
    assert await d.raw(row.id) is None
    deleted = [e for s, e in await d.events() if s == "chirp.tweet.deleted"]
    assert [(e.tweet_id, e.author_id, e.retweeted_tweet_id) for e in deleted] == [(row.id, BOB, original)]
    again = (await d.writer.retweet(BOB, original)).tweet  # and it can be retweeted again
    assert again.id != row.id


# -- delete ---------------------------------------------------------------------------------------------------


async def test_only_the_author_deletes_and_others_learn_nothing_they_cannot_see(d: Domain) -> None:
    public = await _post(d, ALICE, "public")
    with pytest.raises(ChirpError) as refused:
        await d.writer.delete(BOB, public)
    assert _refused(refused) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_TWEET_AUTHOR")
    d.peers.blocks.add((ALICE, BOB))
    with pytest.raises(ChirpError) as refused:
        await d.writer.delete(BOB, public)
    assert _refused(refused) == (grpc.StatusCode.NOT_FOUND, "TWEET_NOT_FOUND")
    assert await d.raw(public) is not None


async def test_a_retweet_row_is_undone_not_deleted(d: Domain) -> None:
    original = await _post(d, ALICE, "original")
    row = (await d.writer.retweet(BOB, original)).tweet
    with pytest.raises(ChirpError) as refused:
        await d.writer.delete(BOB, row.id)
    assert _refused(refused) == (grpc.StatusCode.FAILED_PRECONDITION, "IS_RETWEET")


async def test_delete_cascades_to_retweets_and_counters(d: Domain) -> None:
    parent = await _post(d, CAROL, "parent")
    quoted = await _post(d, DAVE, "quoted")
    tweet = await _post(d, ALICE, "#Gone #Soon", reply_to_tweet_id=parent, quote_tweet_id=quoted)
    reply = await _post(d, BOB, "reply below", reply_to_tweet_id=tweet)
    rows = [(await d.writer.retweet(user, tweet)).tweet.id for user in (BOB, CAROL)]
    await d.writer.delete(ALICE, tweet)

    assert await d.raw(tweet) is None and all([await d.raw(r) is None for r in rows])
    counters = await d.store.counters([parent, quoted])
    assert (counters[parent].replies, counters[quoted].quotes) == (0, 0)
    kept = await d.raw(reply)
    assert kept is not None and kept["reply_to_tweet_id"] == tweet  # replies stay, pointing at it
    deleted = [e for s, e in await d.events() if s == "chirp.tweet.deleted"]
    assert sorted(e.tweet_id for e in deleted) == sorted([*rows, tweet])
    last = deleted[-1]
    assert (last.tweet_id, last.reply_to_tweet_id, last.quote_tweet_id, list(last.hashtags)) == (
        tweet, parent, quoted, ["gone", "soon"]
    )  # fmt: skip
    with pytest.raises(ChirpError) as refused:
        await d.writer.delete(ALICE, tweet)
    assert _refused(refused) == (grpc.StatusCode.NOT_FOUND, "TWEET_NOT_FOUND")


async def test_replying_to_a_tweet_deleted_meanwhile_leaves_no_counter(d: Domain) -> None:
    parent = await _post(d, ALICE, "parent")
    await d.writer.delete(ALICE, parent)
    with pytest.raises(ChirpError) as refused:
        await _post(d, BOB, "late", reply_to_tweet_id=parent)
    assert _refused(refused) == (grpc.StatusCode.NOT_FOUND, "TWEET_NOT_FOUND")
    assert await d.store.counters([parent]) == {}


# -- media -----------------------------------------------------------------------------------------------------


async def test_media_must_be_the_authors_and_ready(d: Domain) -> None:
    ready, mine_processing, theirs = 7001, 7002, 7003
    d.peers.media_items[ready] = media_pb2.Media(id=ready, owner_id=ALICE, status=media_pb2.MEDIA_STATUS_READY)
    d.peers.media_items[mine_processing] = media_pb2.Media(
        id=mine_processing, owner_id=ALICE, status=media_pb2.MEDIA_STATUS_PROCESSING
    )
    d.peers.media_items[theirs] = media_pb2.Media(id=theirs, owner_id=BOB, status=media_pb2.MEDIA_STATUS_READY)
    for media_ids, expected in (
        ([theirs], (grpc.StatusCode.NOT_FOUND, "MEDIA_NOT_FOUND")),
        ([424242], (grpc.StatusCode.NOT_FOUND, "MEDIA_NOT_FOUND")),
        ([mine_processing], (grpc.StatusCode.FAILED_PRECONDITION, "MEDIA_NOT_READY")),
    ):
        with pytest.raises(ChirpError) as refused:
            await _post(d, ALICE, "pic", media_ids=media_ids)
        assert _refused(refused) == expected
    tweet_id = await _post(d, ALICE, "pic", media_ids=[ready])
    assert (await d.store.get(tweet_id)) is not None
    assert (await d.store.get(tweet_id)).media_ids == (ready,)  # type: ignore[union-attr]
