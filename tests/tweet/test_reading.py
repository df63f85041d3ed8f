"""Reading tweets as a reader sees them: visibility on every path, hydration in batches, threads and pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from services.kit.errors import ChirpError
from services.tweet.writing import Draft
from tests.tweet.fakes import Domain, domain

ALICE, BOB, CAROL, LOCKED = 101, 102, 103, 200


@pytest.fixture
async def d(tmp_path: Path) -> AsyncIterator[Domain]:
    async with domain(tmp_path) as running:
        for user_id, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
            running.peers.add(user_id, name)
        running.peers.add(LOCKED, "locked", protected=True)
        yield running


async def _post(d: Domain, author: int, text: str = "hello", **fields: object) -> int:
    return (await d.writer.post(author, Draft(text=text, **fields))).tweet.id  # type: ignore[arg-type]


async def _refusal(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(ChirpError) as refused:
        await call  # type: ignore[misc]
    return refused.value.code, refused.value.reason


NOT_FOUND = (grpc.StatusCode.NOT_FOUND, "TWEET_NOT_FOUND")


# -- one tweet and batches: who sees what ---------------------------------------------------------------------


async def test_a_protected_accounts_tweet_is_seen_by_its_followers_and_itself_only(d: Domain) -> None:
    tweet_id = await _post(d, LOCKED, "for followers")
    d.peers.follows.add((BOB, LOCKED))
    assert (await d.reader.tweet(tweet_id, viewer_id=BOB)).text == "for followers"
    assert (await d.reader.tweet(tweet_id, viewer_id=LOCKED)).text == "for followers"
    assert await _refusal(d.reader.tweet(tweet_id, viewer_id=None)) == NOT_FOUND
    assert await _refusal(d.reader.tweet(tweet_id, viewer_id=CAROL)) == NOT_FOUND
    assert await _refusal(d.reader.tweet(999, viewer_id=BOB)) == NOT_FOUND


@pytest.mark.parametrize("block", [(ALICE, BOB), (BOB, ALICE)])
async def test_a_block_either_way_hides_tweets_on_every_read(d: Domain, block: tuple[int, int]) -> None:
    tweet_id = await _post(d, ALICE, "hidden from bob")
    d.peers.blocks.add(block)
    assert await _refusal(d.reader.tweet(tweet_id, viewer_id=BOB)) == NOT_FOUND
    assert await d.reader.batch([tweet_id], viewer_id=BOB) == []
    assert await _refusal(d.reader.context(tweet_id, viewer_id=BOB)) == NOT_FOUND
    assert await _refusal(d.reader.user_tweets("alice", viewer_id=BOB, page_size=0, page_token="")) == (
        grpc.StatusCode.PERMISSION_DENIED, "BLOCKED"
    )  # fmt: skip
    assert (await d.reader.tweet(tweet_id, viewer_id=CAROL)).id == tweet_id  # others still see it


async def test_a_batch_keeps_order_and_repeats_and_leaves_out_what_is_hidden(d: Domain) -> None:
    a = await _post(d, ALICE, "a")
    hidden = await _post(d, LOCKED, "hidden")
    b = await _post(d, BOB, "b")
    deleted = await _post(d, BOB, "deleted")
    await d.writer.delete(BOB, deleted)
    tweets = await d.reader.batch([b, hidden, a, 424242, b, deleted], viewer_id=CAROL)
    assert [t.id for t in tweets] == [b, a, b]


async def test_a_retweet_of_a_hidden_tweet_is_left_out(d: Domain) -> None:
    d.peers.follows.add((BOB, LOCKED))
    original = await _post(d, ALICE, "alice's")
    row = (await d.writer.retweet(BOB, original)).tweet.id
    assert [t.retweeted_tweet.id for t in await d.reader.batch([row], viewer_id=CAROL)] == [original]
    d.peers.blocks.add((ALICE, CAROL))  # now carol may not see the original: nor its retweet
    assert await d.reader.batch([row], viewer_id=CAROL) == []
    assert await _refusal(d.reader.tweet(row, viewer_id=CAROL)) == NOT_FOUND


async def test_a_batch_answers_the_readers_relationships_with_the_authors_it_shows(d: Domain) -> None:
    original = await _post(d, ALICE, "alice's")
    retweet = (await d.writer.retweet(BOB, original)).tweet.id
    own = await _post(d, CAROL, "carol's own")
    hidden = await _post(d, LOCKED, "not for carol")
    d.peers.follows.add((CAROL, BOB))
    batch = await d.reader.hydrated([retweet, own, hidden], viewer_id=CAROL)
    assert [t.id for t in batch.tweets] == [retweet, own]
    # The retweeter and the original's author; not the reader, not an author whose tweet was left out.
    assert sorted(batch.relationships) == [ALICE, BOB]
    assert batch.relationships[BOB].following and not batch.relationships[ALICE].following


# -- hydration ------------------------------------------------------------------------------------------------


async def test_a_tweet_is_hydrated_with_author_counters_and_viewer_state(d: Domain) -> None:
    tweet_id = await _post(d, ALICE, "count me #in")
    await _post(d, BOB, "reply", reply_to_tweet_id=tweet_id)
    await _post(d, CAROL, "quote", quote_tweet_id=tweet_id)
    d.peers.likes[tweet_id] = 5
    seen = await d.reader.tweet(tweet_id, viewer_id=BOB)
    assert (seen.author.id, seen.author.username, seen.author.display_name) == (ALICE, "alice", "Alice")
    assert (seen.reply_count, seen.quote_count, seen.like_count) == (1, 1, 5)
    assert seen.conversation_id == tweet_id and seen.created_at.seconds > 0
    assert seen.HasField("viewer") and not seen.viewer.liked
    anonymous = await d.reader.tweet(tweet_id, viewer_id=None)
    assert not anonymous.HasField("viewer")


async def test_without_engagement_counters_are_zero_and_nothing_breaks(d: Domain) -> None:
    d.peers.engagement_deployed = False
    tweet_id = await _post(d, ALICE, "quiet")
    seen = await d.reader.tweet(tweet_id, viewer_id=BOB)
    assert (seen.like_count, seen.retweet_count) == (0, 0) and seen.HasField("viewer")


async def test_quoted_tweets_are_embedded_only_when_visible(d: Domain) -> None:
    public = await _post(d, ALICE, "public")
    locked = await _post(d, LOCKED, "locked")
    d.peers.follows.add((BOB, LOCKED))
    quote_public = await _post(d, BOB, "look", quote_tweet_id=public)
    quote_locked = await _post(d, BOB, "look too", quote_tweet_id=locked)
    a, b = await d.reader.batch([quote_public, quote_locked], viewer_id=CAROL)
    assert a.quoted_tweet.text == "public" and a.quoted_tweet.author.username == "alice"
    assert b.quote_tweet_id == locked and not b.HasField("quoted_tweet")
    a, b = await d.reader.batch([quote_public, quote_locked], viewer_id=BOB)
    assert b.quoted_tweet.text == "locked"


async def test_a_retweet_carries_its_original_and_no_counters_of_its_own(d: Domain) -> None:
    quoted = await _post(d, CAROL, "carol's")
    original = await _post(d, ALICE, "alice's", quote_tweet_id=quoted)
    d.peers.likes[original] = 2
    row = (await d.writer.retweet(BOB, original)).tweet.id
    seen = await d.reader.tweet(row, viewer_id=None)
    assert (seen.id, seen.author.username, seen.text, seen.like_count) == (row, "bob", "", 0)
    assert (seen.retweeted_tweet.id, seen.retweeted_tweet.text, seen.retweeted_tweet.like_count) == (
        original, "alice's", 2
    )  # fmt: skip
    assert seen.retweeted_tweet.quoted_tweet.text == "carol's"


async def test_a_page_of_twenty_is_hydrated_in_a_handful_of_calls(d: Domain) -> None:
    ids = []
    for n in range(20):
        author = 1000 + n
        d.peers.add(author, f"user{n}")
        quoted = await _post(d, ALICE, f"quoted {n}")
        ids.append(await _post(d, author, f"tweet {n}", quote_tweet_id=quoted))
    d.peers.calls.clear()
    tweets = await d.reader.batch(ids, viewer_id=BOB)
    assert len(tweets) == 20 and all(t.quoted_tweet.text.startswith("quoted") for t in tweets)
    assert d.peers.calls == {"users": 1, "relationships": 1, "engagement": 1}


# -- thread context -------------------------------------------------------------------------------------------


async def test_context_has_ancestors_root_first_and_descendants_depth_first(d: Domain) -> None:
    root = await _post(d, ALICE, "root")
    child = await _post(d, BOB, "child", reply_to_tweet_id=root)
    focus = await _post(d, CAROL, "focus", reply_to_tweet_id=child)
    first = await _post(d, ALICE, "first reply", reply_to_tweet_id=focus)
    second = await _post(d, BOB, "second reply", reply_to_tweet_id=focus)
    under_first = await _post(d, CAROL, "under the first", reply_to_tweet_id=first)
    await _post(d, ALICE, "elsewhere", reply_to_tweet_id=root)  # a sibling branch: neither list
    found = await d.reader.context(focus, viewer_id=None)
    assert found.tweet.id == focus
    assert [t.id for t in found.ancestors] == [root, child]
    assert [t.id for t in found.descendants] == [first, under_first, second]


async def test_context_leaves_out_hidden_tweets_and_what_hangs_below_them(d: Domain) -> None:
    d.peers.follows.add((CAROL, LOCKED))
    root = await _post(d, LOCKED, "locked root")
    middle = await _post(d, CAROL, "middle", reply_to_tweet_id=root)
    focus = await _post(d, ALICE, "focus", reply_to_tweet_id=middle)
    hidden_reply = await _post(d, LOCKED, "locked reply", reply_to_tweet_id=focus)
    await _post(d, CAROL, "below the hidden one", reply_to_tweet_id=hidden_reply)
    visible_reply = await _post(d, BOB, "visible", reply_to_tweet_id=focus)
    found = await d.reader.context(focus, viewer_id=BOB)
    assert [t.id for t in found.ancestors] == [middle]
    assert [t.id for t in found.descendants] == [visible_reply]
    assert await _refusal(d.reader.context(root, viewer_id=BOB)) == NOT_FOUND


async def test_context_skips_a_deleted_ancestor_but_keeps_the_root(d: Domain) -> None:
    root = await _post(d, ALICE, "root")
    middle = await _post(d, BOB, "middle", reply_to_tweet_id=root)
    focus = await _post(d, CAROL, "focus", reply_to_tweet_id=middle)
    await d.writer.delete(BOB, middle)
    found = await d.reader.context(focus, viewer_id=None)
    assert [t.id for t in found.ancestors] == [root]


async def test_the_context_of_a_retweet_is_its_originals(d: Domain) -> None:
    root = await _post(d, ALICE, "root")
    reply = await _post(d, BOB, "reply", reply_to_tweet_id=root)
    row = (await d.writer.retweet(CAROL, reply)).tweet.id
    found = await d.reader.context(row, viewer_id=None)
    assert found.tweet.id == reply and [t.id for t in found.ancestors] == [root]


# -- a user's tweets ------------------------------------------------------------------------------------------


async def test_user_tweets_page_newest_first_without_repeats(d: Domain) -> None:
    posted = [await _post(d, ALICE, f"n{n}") for n in range(5)]
    posted.append((await d.writer.retweet(ALICE, await _post(d, BOB, "bob's"))).tweet.id)
    seen, token = [], ""
    while True:
        page = await d.reader.user_tweets("Alice", viewer_id=None, page_size=2, page_token=token)
        seen += [t.id for t in page.tweets]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(posted, reverse=True)


async def test_a_protected_users_tweets_are_for_approved_followers(d: Domain) -> None:
    tweet_id = await _post(d, LOCKED, "mine")
    protected = (grpc.StatusCode.PERMISSION_DENIED, "ACCOUNT_PROTECTED")
    for viewer in (None, BOB):
        assert await _refusal(d.reader.user_tweets("locked", viewer_id=viewer, page_size=0, page_token="")) == (
            protected
        )
    d.peers.follows.add((BOB, LOCKED))
    page = await d.reader.user_tweets("locked", viewer_id=BOB, page_size=0, page_token="")
    assert [t.id for t in page.tweets] == [tweet_id]


async def test_user_tweets_refuse_unknown_users_and_foreign_tokens(d: Domain) -> None:
    assert await _refusal(d.reader.user_tweets("nobody", viewer_id=None, page_size=0, page_token="")) == (
        grpc.StatusCode.NOT_FOUND, "USER_NOT_FOUND"
    )  # fmt: skip
    assert await _refusal(d.reader.user_tweets("alice", viewer_id=None, page_size=0, page_token="abc")) == (
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN"
    )  # fmt: skip


async def test_author_tweet_ids_merge_authors_newest_first(d: Domain) -> None:
    ids = [await _post(d, author, "x") for author in (ALICE, BOB, ALICE, CAROL, BOB)]
    assert await d.reader.author_tweet_ids([ALICE, BOB], max_id=0, limit=10) == [ids[4], ids[2], ids[1], ids[0]]
    assert await d.reader.author_tweet_ids([ALICE, BOB], max_id=ids[2], limit=1) == [ids[1]]
