"""The engagement service as a process would run it (its real `setup`, the kit's interceptors, real gRPC,
real JetStream), with in-memory tweet, user and graph services in the mesh's place (tests.engagement.fakes).

Every test works on its own tweets and users, so the module shares one service.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
import pytest_asyncio
from chirp.engagement.v1 import engagement_events_pb2 as events_pb2
from chirp.engagement.v1 import engagement_service_pb2 as pb
from chirp.engagement.v1.engagement_service_pb2_grpc import EngagementServiceStub
from chirp.tweet.v1 import tweet_events_pb2
from nats.js import JetStreamContext

from services.engagement.__main__ import setup as engagement_setup
from services.kit.config import KitSettings
from services.kit.errors import error_details
from services.kit.identity import USER_ID_HEADER
from services.kit.server import serving
from tests.engagement.fakes import Post, World, serve_fakes

pytestmark = pytest.mark.asyncio(loop_scope="session")

_users = itertools.count(1_000)

NOT_FOUND = (grpc.StatusCode.NOT_FOUND, "TWEET_NOT_FOUND", "chirp.engagement")


def new_user() -> int:
    return next(_users)


class Client:
    """Calls the engagement service as a user (None: anonymous), like the edge or another service would."""

    def __init__(self, stub: EngagementServiceStub) -> None:
        self._stub = stub

    async def __call__(self, method: str, request: Any, *, user: int | None) -> Any:
        metadata = ((USER_ID_HEADER, str(user)),) if user is not None else ()
        return await getattr(self._stub, method)(request, metadata=metadata, timeout=10)

    async def fails(self, method: str, request: Any, *, user: int | None) -> Any:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await self(method, request, user=user)
        return error_details(caught.value)

    async def engagement(self, tweet_id: int, *, user: int | None = None) -> Any:
        answer = await self("BatchGetEngagement", pb.BatchGetEngagementRequest(tweet_ids=[tweet_id]), user=user)
        return answer.engagements[0]

    async def likers(self, tweet_id: int, *, user: int | None = None, size: int = 100, token: str = "") -> Any:
        return await self(
            "ListLikers", pb.ListLikersRequest(tweet_id=tweet_id, page_size=size, page_token=token), user=user
        )


class Env:
    def __init__(self, world: World, client: Client, js: JetStreamContext) -> None:
        self.world, self.client, self.js = world, client, js


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> AsyncIterator[Env]:
    world = World()
    data: Path = tmp_path_factory.mktemp("engagement")
    fakes_settings = KitSettings(grpc_port=0, data_dir=data / "fakes", shutdown_grace=0.5)
    async with serving("tweet", fakes_settings, serve_fakes(world)) as fakes:
        settings = KitSettings(
            grpc_port=0,
            data_dir=data,
            nats_url=nats_url,
            mesh_addr=f"127.0.0.1:{fakes.port}",
            shutdown_grace=0.5,
            worker_id=5,
        )
        async with serving("engagement", settings, engagement_setup) as rt:
            nc = await nats.connect(nats_url)
            try:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{rt.port}") as channel:
                    yield Env(world, Client(EngagementServiceStub(channel)), nc.jetstream())
            finally:
                await nc.close()


@pytest.fixture
def world(env: Env) -> World:
    env.world.retweet_delay = 0.0
    return env.world


@pytest.fixture
def client(env: Env) -> Client:
    return env.client


async def eventually(check: Any, *, within: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s (last: {result!r})")
        await asyncio.sleep(0.02)


# Writes, and the tweet they answer


async def test_like_answers_the_tweet_with_fresh_counts_and_is_idempotent(world: World, client: Client) -> None:
    author, fan = new_user(), new_user()
    tweet_id = world.post(author)
    first = await client("LikeTweet", pb.LikeTweetRequest(tweet_id=tweet_id), user=fan)
    assert (first.id, first.author.id, first.text) == (tweet_id, author, "hello")
    assert (first.like_count, first.retweet_count) == (1, 0)  # ours, not the fake hydration's stale 999
    assert (first.viewer.liked, first.viewer.retweeted, first.viewer.bookmarked) == (True, False, False)
    again = await client("LikeTweet", pb.LikeTweetRequest(tweet_id=tweet_id), user=fan)
    assert again.like_count == 1 and again.viewer.liked
    undone = await client("UnlikeTweet", pb.UnlikeTweetRequest(tweet_id=tweet_id), user=fan)
    assert undone.like_count == 0 and not undone.viewer.liked
    again = await client("UnlikeTweet", pb.UnlikeTweetRequest(tweet_id=tweet_id), user=fan)
    assert again.like_count == 0 and not again.viewer.liked


async def test_engaging_with_a_retweet_row_applies_to_its_original(world: World, client: Client) -> None:
    author, retweeter, fan = new_user(), new_user(), new_user()
    original = world.post(author)
    await client("RetweetTweet", pb.RetweetTweetRequest(tweet_id=original), user=retweeter)
    row = world.retweet_rows[(retweeter, original)]

    liked = await client("LikeTweet", pb.LikeTweetRequest(tweet_id=row), user=fan)
    assert liked.id == original and liked.like_count == 1
    bookmarked = await client("BookmarkTweet", pb.BookmarkTweetRequest(tweet_id=row), user=fan)
    assert bookmarked.id == original and bookmarked.viewer.bookmarked
    retweeted = await client("RetweetTweet", pb.RetweetTweetRequest(tweet_id=row), user=fan)
    assert retweeted.id == original and retweeted.retweet_count == 2
    assert (fan, original) in world.retweet_rows and (fan, row) not in world.retweet_rows
    assert (await client.engagement(row)).like_count == 0  # nothing is ever counted on the row itself
    assert [u.id for u in (await client.likers(row)).users] == [fan]


async def test_a_retweet_row_whose_original_the_caller_cannot_see_is_not_found(world: World, client: Client) -> None:
    author, retweeter, blocked = new_user(), new_user(), new_user()
    original = world.post(author)
    await client("RetweetTweet", pb.RetweetTweetRequest(tweet_id=original), user=retweeter)
    row = world.retweet_rows[(retweeter, original)]
    world.blocks.add((author, blocked))
    error = await client.fails("LikeTweet", pb.LikeTweetRequest(tweet_id=row), user=blocked)
    assert (error.code, error.reason, error.domain) == NOT_FOUND


@pytest.mark.parametrize(
    ("method", "request_type"),
    [
        ("LikeTweet", pb.LikeTweetRequest),
        ("UnlikeTweet", pb.UnlikeTweetRequest),
        ("RetweetTweet", pb.RetweetTweetRequest),
        ("UnretweetTweet", pb.UnretweetTweetRequest),
        ("BookmarkTweet", pb.BookmarkTweetRequest),
        ("UnbookmarkTweet", pb.UnbookmarkTweetRequest),
    ],
)
@pytest.mark.parametrize("hidden_by", ["missing", "protected", "blocks_caller", "blocked_by_caller"])
async def test_a_tweet_the_caller_may_not_see_is_not_found_and_nothing_is_stored(
    world: World, client: Client, method: str, request_type: Any, hidden_by: str
) -> None:
    author, caller = new_user(), new_user()
    tweet_id = world.post(author)
    if hidden_by == "missing":
        tweet_id = world.new_id()
    elif hidden_by == "protected":
        world.protected.add(author)
    elif hidden_by == "blocks_caller":
        world.blocks.add((author, caller))
    else:
        world.blocks.add((caller, author))
    error = await client.fails(method, request_type(tweet_id=tweet_id), user=caller)
    assert (error.code, error.reason, error.domain) == NOT_FOUND
    state = await client.engagement(tweet_id, user=caller)
    assert (state.like_count, state.retweet_count, state.viewer.bookmarked) == (0, 0, False)
    assert world.calls["CreateRetweet"] == 0 or (caller, tweet_id) not in world.retweet_rows


async def test_an_approved_follower_may_like_a_protected_tweet_but_not_retweet_it(world: World, client: Client) -> None:
    author, follower = new_user(), new_user()
    world.protected.add(author)
    world.follows.add((follower, author))
    tweet_id = world.post(author)
    liked = await client("LikeTweet", pb.LikeTweetRequest(tweet_id=tweet_id), user=follower)
    assert liked.like_count == 1
    error = await client.fails("RetweetTweet", pb.RetweetTweetRequest(tweet_id=tweet_id), user=follower)
    assert (error.code, error.reason, error.domain) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ACCOUNT_PROTECTED",
        "chirp.engagement",
    )
    state = await client.engagement(tweet_id, user=follower)
    assert state.retweet_count == 0 and not state.viewer.retweeted
    # Not even its author may retweet it.
    error = await client.fails("RetweetTweet", pb.RetweetTweetRequest(tweet_id=tweet_id), user=author)
    assert error.reason == "ACCOUNT_PROTECTED"


async def test_retweet_makes_one_row_and_unretweet_removes_it(world: World, client: Client) -> None:
    author, fan = new_user(), new_user()
    tweet_id = world.post(author)
    first = await client("RetweetTweet", pb.RetweetTweetRequest(tweet_id=tweet_id), user=fan)
    row = world.retweet_rows[(fan, tweet_id)]
    again = await client("RetweetTweet", pb.RetweetTweetRequest(tweet_id=tweet_id), user=fan)
    assert first.retweet_count == again.retweet_count == 1
    assert first.viewer.retweeted and again.viewer.retweeted
    assert world.retweet_rows[(fan, tweet_id)] == row
    undone = await client("UnretweetTweet", pb.UnretweetTweetRequest(tweet_id=tweet_id), user=fan)
    assert undone.retweet_count == 0 and not undone.viewer.retweeted
    assert (fan, tweet_id) not in world.retweet_rows and row not in world.tweets
    # Undoing it by the row's id (what a timeline shows) works the same, and is idempotent.
    await client("RetweetTweet", pb.RetweetTweetRequest(tweet_id=tweet_id), user=fan)
    row = world.retweet_rows[(fan, tweet_id)]
    undone = await client("UnretweetTweet", pb.UnretweetTweetRequest(tweet_id=row), user=fan)
    assert undone.id == tweet_id and undone.retweet_count == 0
    assert (fan, tweet_id) not in world.retweet_rows


async def test_users_may_retweet_their_own_tweets(world: World, client: Client) -> None:
    author = new_user()
    tweet_id = world.post(author)
    answer = await client("RetweetTweet", pb.RetweetTweetRequest(tweet_id=tweet_id), user=author)
    assert answer.retweet_count == 1 and answer.viewer.retweeted
    assert (author, tweet_id) in world.retweet_rows


async def test_writes_need_a_signed_in_caller(world: World, client: Client) -> None:
    tweet_id = world.post(new_user())
    for method, request in [
        ("LikeTweet", pb.LikeTweetRequest(tweet_id=tweet_id)),
        ("RetweetTweet", pb.RetweetTweetRequest(tweet_id=tweet_id)),
        ("BookmarkTweet", pb.BookmarkTweetRequest(tweet_id=tweet_id)),
        ("ListBookmarks", pb.ListBookmarksRequest()),
    ]:
        error = await client.fails(method, request, user=None)
        assert (error.code, error.reason) == (grpc.StatusCode.UNAUTHENTICATED, "AUTHENTICATION_REQUIRED"), method


@pytest.mark.parametrize(
    ("method", "message", "field"),
    [
        ("LikeTweet", pb.LikeTweetRequest(tweet_id=0), "tweet_id"),
        ("UnlikeTweet", pb.UnlikeTweetRequest(tweet_id=-1), "tweet_id"),
        ("RetweetTweet", pb.RetweetTweetRequest(), "tweet_id"),
        ("ListLikers", pb.ListLikersRequest(tweet_id=1, page_size=101), "page_size"),
        ("ListRetweeters", pb.ListRetweetersRequest(tweet_id=1, page_size=-1), "page_size"),
        ("ListBookmarks", pb.ListBookmarksRequest(page_token="x" * 513), "page_token"),
        ("BatchGetEngagement", pb.BatchGetEngagementRequest(tweet_ids=[1, 0]), "tweet_ids[1]"),
        ("BatchGetEngagement", pb.BatchGetEngagementRequest(tweet_ids=[1] * 501), "tweet_ids"),
    ],
)
async def test_invalid_requests_name_the_field(client: Client, method: str, message: Any, field: str) -> None:
    error = await client.fails(method, message, user=new_user())
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.fields == [field]


@pytest.mark.parametrize("token", ["abc", "-5", "1" * 20])
async def test_a_page_token_we_did_not_issue_is_refused(world: World, client: Client, token: str) -> None:
    tweet_id = world.post(new_user())
    error = await client.fails("ListLikers", pb.ListLikersRequest(tweet_id=tweet_id, page_token=token), user=None)
    assert (error.code, error.reason, error.fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAGE_TOKEN",
        ["page_token"],
    )


# Lists


async def test_likers_are_newest_first_paged_and_without_blocked_users(world: World, client: Client) -> None:
    author, viewer = new_user(), new_user()
    tweet_id = world.post(author)
    fans = [new_user() for _ in range(7)]
    for fan in fans:
        await client("LikeTweet", pb.LikeTweetRequest(tweet_id=tweet_id), user=fan)
    newest_first = fans[::-1]

    seen, token = [], ""
    while True:
        page = await client.likers(tweet_id, size=3, token=token)
        assert len(page.users) <= 3
        seen += [u.id for u in page.users]
        token = page.next_page_token
        if not token:
            break
    assert seen == newest_first  # anonymous: everyone, every page, no repeats
    assert (await client.likers(tweet_id, size=3)).users[0].username == f"user{newest_first[0]}"  # hydrated

    world.blocks.add((viewer, fans[1]))  # the viewer blocks one fan…
    world.blocks.add((fans[4], viewer))  # …and another fan blocks the viewer
    world.gone_users.add(fans[6])  # and one account no longer exists
    page = await client.likers(tweet_id, user=viewer)
    assert [u.id for u in page.users] == [f for f in newest_first if f not in (fans[1], fans[4], fans[6])]
    # The blocked fan still sees the others; the list is the viewer's, not a global one.
    assert fans[1] in [u.id for u in (await client.likers(tweet_id, user=fans[2])).users]


async def test_a_page_thinned_by_blocks_still_leads_to_the_next(world: World, client: Client) -> None:
    author, viewer = new_user(), new_user()
    tweet_id = world.post(author)
    fans = [new_user() for _ in range(4)]
    for fan in fans:
        await client("LikeTweet", pb.LikeTweetRequest(tweet_id=tweet_id), user=fan)
    world.blocks.update({(viewer, fans[3]), (viewer, fans[2])})  # the whole first page of two is hidden
    first = await client.likers(tweet_id, user=viewer, size=2)
    assert list(first.users) == [] and first.next_page_token
    second = await client.likers(tweet_id, user=viewer, size=2, token=first.next_page_token)
    assert [u.id for u in second.users] == [fans[1], fans[0]]


async def test_lists_of_a_tweet_the_viewer_may_not_see_are_not_found(world: World, client: Client) -> None:
    author, fan, stranger = new_user(), new_user(), new_user()
    world.protected.add(author)
    world.follows.add((fan, author))
    tweet_id = world.post(author)
    await client("LikeTweet", pb.LikeTweetRequest(tweet_id=tweet_id), user=fan)
    assert [u.id for u in (await client.likers(tweet_id, user=fan)).users] == [fan]
    for user in (stranger, None):
        error = await client.fails("ListLikers", pb.ListLikersRequest(tweet_id=tweet_id), user=user)
        assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "TWEET_NOT_FOUND")
        error = await client.fails("ListRetweeters", pb.ListRetweetersRequest(tweet_id=tweet_id), user=user)
        assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "TWEET_NOT_FOUND")


async def test_retweeters_are_newest_first_without_blocked_users(world: World, client: Client) -> None:
    author, viewer = new_user(), new_user()
    tweet_id = world.post(author)
    fans = [new_user() for _ in range(3)]
    for fan in fans:
        await client("RetweetTweet", pb.RetweetTweetRequest(tweet_id=tweet_id), user=fan)
    page = await client("ListRetweeters", pb.ListRetweetersRequest(tweet_id=tweet_id), user=None)
    assert [u.id for u in page.users] == fans[::-1]
    world.blocks.add((fans[0], viewer))
    page = await client("ListRetweeters", pb.ListRetweetersRequest(tweet_id=tweet_id), user=viewer)
    assert [u.id for u in page.users] == [fans[2], fans[1]]


async def test_bookmarks_are_private_newest_first_and_drop_what_the_owner_can_no_longer_see(
    world: World, client: Client
) -> None:
    me, other, author = new_user(), new_user(), new_user()
    tweets = [world.post(author, f"tweet {n}") for n in range(5)]
    for tweet_id in tweets:
        await client("BookmarkTweet", pb.BookmarkTweetRequest(tweet_id=tweet_id), user=me)
    await client("BookmarkTweet", pb.BookmarkTweetRequest(tweet_id=tweets[0]), user=other)
    await client("UnbookmarkTweet", pb.UnbookmarkTweetRequest(tweet_id=tweets[3]), user=me)

    seen, token = [], ""
    while True:
        page = await client("ListBookmarks", pb.ListBookmarksRequest(page_size=2, page_token=token), user=me)
        seen += [t.id for t in page.tweets]
        token = page.next_page_token
        if not token:
            break
    assert seen == [tweets[4], tweets[2], tweets[1], tweets[0]]
    theirs = await client("ListBookmarks", pb.ListBookmarksRequest(), user=other)
    assert [t.id for t in theirs.tweets] == [tweets[0]]

    del world.tweets[tweets[4]]  # deleted (its event not processed yet)
    world.blocks.add((author, me))  # and now the author blocks me: none of theirs is visible
    assert list((await client("ListBookmarks", pb.ListBookmarksRequest(), user=me)).tweets) == []


# The counters and viewer state other services hydrate tweets with


async def test_batch_get_engagement_answers_in_request_order_with_the_readers_state(
    world: World, client: Client
) -> None:
    author, me = new_user(), new_user()
    a, b, untouched = world.post(author), world.post(author), world.new_id()
    await client("LikeTweet", pb.LikeTweetRequest(tweet_id=a), user=me)
    await client("BookmarkTweet", pb.BookmarkTweetRequest(tweet_id=b), user=me)
    await client("RetweetTweet", pb.RetweetTweetRequest(tweet_id=b), user=author)
    request = pb.BatchGetEngagementRequest(tweet_ids=[b, untouched, a, b])

    mine = await client("BatchGetEngagement", request, user=me)
    assert [(e.tweet_id, e.like_count, e.retweet_count) for e in mine.engagements] == [
        (b, 0, 1), (untouched, 0, 0), (a, 1, 0), (b, 0, 1)
    ]  # fmt: skip
    assert [(e.viewer.liked, e.viewer.retweeted, e.viewer.bookmarked) for e in mine.engagements] == [
        (False, False, True), (False, False, False), (True, False, False), (False, False, True)
    ]  # fmt: skip
    anonymous = await client("BatchGetEngagement", request, user=None)
    assert [e.like_count for e in anonymous.engagements] == [0, 0, 1, 0]
    assert not any(e.HasField("viewer") for e in anonymous.engagements)
    empty = await client("BatchGetEngagement", pb.BatchGetEngagementRequest(), user=me)
    assert list(empty.engagements) == []


# Events


async def test_likes_and_retweets_are_published_with_the_author_to_notify(
    env: Env, world: World, client: Client
) -> None:
    author, fan = new_user(), new_user()
    tweet_id = world.post(author)
    await client("LikeTweet", pb.LikeTweetRequest(tweet_id=tweet_id), user=fan)
    await client("LikeTweet", pb.LikeTweetRequest(tweet_id=tweet_id), user=fan)  # no second event
    await client("UnlikeTweet", pb.UnlikeTweetRequest(tweet_id=tweet_id), user=fan)
    await client("RetweetTweet", pb.RetweetTweetRequest(tweet_id=tweet_id), user=fan)
    await client("UnretweetTweet", pb.UnretweetTweetRequest(tweet_id=tweet_id), user=fan)
    types = {
        "chirp.engagement.liked": events_pb2.TweetLiked,
        "chirp.engagement.unliked": events_pb2.TweetUnliked,
        "chirp.engagement.retweeted": events_pb2.TweetRetweeted,
        "chirp.engagement.unretweeted": events_pb2.TweetUnretweeted,
    }
    sub = await env.js.subscribe("chirp.engagement.>", ordered_consumer=True)
    mine: list[str] = []
    try:
        while len(mine) < 4:
            msg = await sub.next_msg(timeout=5)
            event = types[msg.subject].FromString(msg.data)
            if event.actor_user_id != fan:
                continue
            assert (event.tweet_id, event.tweet_author_id) == (tweet_id, author)
            mine.append(msg.subject)
    finally:
        await sub.unsubscribe()
    assert mine == list(types)


async def test_a_deleted_tweet_loses_its_likes_retweets_and_bookmarks(env: Env, world: World, client: Client) -> None:
    author, fan = new_user(), new_user()
    tweet_id = world.post(author)
    await client("LikeTweet", pb.LikeTweetRequest(tweet_id=tweet_id), user=fan)
    await client("RetweetTweet", pb.RetweetTweetRequest(tweet_id=tweet_id), user=fan)
    await client("BookmarkTweet", pb.BookmarkTweetRequest(tweet_id=tweet_id), user=fan)

    del world.tweets[tweet_id]
    event = tweet_events_pb2.TweetDeleted(tweet_id=tweet_id, author_id=author)
    for _ in range(2):  # a redelivery (a new msg id, so JetStream stores both) changes nothing
        msg_id = {"Nats-Msg-Id": str(random.random())}
        await env.js.publish("chirp.tweet.deleted", event.SerializeToString(), headers=msg_id)

    async def forgotten() -> bool:
        state = await client.engagement(tweet_id, user=fan)
        flags = (state.viewer.liked, state.viewer.retweeted, state.viewer.bookmarked)
        return (state.like_count, state.retweet_count, *flags) == (0, 0, False, False, False)

    await eventually(forgotten)
    page = await client("ListBookmarks", pb.ListBookmarksRequest(), user=fan)
    assert tweet_id not in [t.id for t in page.tweets]
    # And a like racing the deletion (the tweet service's read still showed the tweet) cannot bring it back.
    world.tweets[tweet_id] = Post(tweet_id, author, "a stale read")
    error = await client.fails("LikeTweet", pb.LikeTweetRequest(tweet_id=tweet_id), user=new_user())
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "TWEET_NOT_FOUND")
    del world.tweets[tweet_id]


async def test_a_deleted_retweet_row_ends_that_retweet_but_not_a_newer_one(
    env: Env, world: World, client: Client
) -> None:
    author, fan = new_user(), new_user()
    tweet_id = world.post(author)
    await client("RetweetTweet", pb.RetweetTweetRequest(tweet_id=tweet_id), user=fan)
    old_row = world.retweet_rows[(fan, tweet_id)]
    await client("UnretweetTweet", pb.UnretweetTweetRequest(tweet_id=tweet_id), user=fan)
    await client("RetweetTweet", pb.RetweetTweetRequest(tweet_id=tweet_id), user=fan)
    new_row = world.retweet_rows[(fan, tweet_id)]

    async def deleted(row: int) -> None:
        event = tweet_events_pb2.TweetDeleted(tweet_id=row, author_id=fan, retweeted_tweet_id=tweet_id)
        await env.js.publish("chirp.tweet.deleted", event.SerializeToString(), headers={"Nats-Msg-Id": f"d{row}"})

    sentinel = world.post(author)
    await client("LikeTweet", pb.LikeTweetRequest(tweet_id=sentinel), user=fan)
    await deleted(old_row)  # late news of the first row: the current retweet must stay
    # The consumer handles events in order: once the sentinel's deletion shows, the one before was handled.
    await env.js.publish(
        "chirp.tweet.deleted",
        tweet_events_pb2.TweetDeleted(tweet_id=sentinel, author_id=author).SerializeToString(),
        headers={"Nats-Msg-Id": f"d{sentinel}"},
    )

    async def sentinel_handled() -> bool:
        return (await client.engagement(sentinel)).like_count == 0

    await eventually(sentinel_handled)
    assert (await client.engagement(tweet_id, user=fan)).retweet_count == 1

    await deleted(new_row)  # the row disappeared behind our back (e.g. removed by the tweet service)

    async def ended() -> bool:
        state = await client.engagement(tweet_id, user=fan)
        return state.retweet_count == 0 and not state.viewer.retweeted

    await eventually(ended)


# Concurrency through the real server


async def test_concurrent_likes_by_many_users_and_one_user_count_exactly(world: World, client: Client) -> None:
    author, eager = new_user(), new_user()
    tweet_id = world.post(author)
    fans = [new_user() for _ in range(60)]
    like = pb.LikeTweetRequest(tweet_id=tweet_id)
    answers = await asyncio.gather(
        *(client("LikeTweet", like, user=fan) for fan in fans),
        *(client("LikeTweet", like, user=eager) for _ in range(30)),
    )
    assert max(a.like_count for a in answers) == 61
    assert all(1 <= a.like_count <= 61 and a.viewer.liked for a in answers)
    assert (await client.engagement(tweet_id)).like_count == 61
    likers = [u.id for u in (await client.likers(tweet_id)).users]
    assert len(likers) == 61 and sorted(likers) == sorted([*fans, eager])


async def test_concurrent_likes_and_unlikes_leave_the_count_equal_to_the_likers(world: World, client: Client) -> None:
    tweet_id = world.post(new_user())
    fans = [new_user() for _ in range(12)]
    rng = random.Random(7)
    calls = []
    for _ in range(240):
        fan = rng.choice(fans)
        if rng.random() < 0.5:
            calls.append(client("LikeTweet", pb.LikeTweetRequest(tweet_id=tweet_id), user=fan))
        else:
            calls.append(client("UnlikeTweet", pb.UnlikeTweetRequest(tweet_id=tweet_id), user=fan))
    await asyncio.gather(*calls)
    count = (await client.engagement(tweet_id)).like_count
    likers = {u.id for u in (await client.likers(tweet_id)).users}
    assert count == len(likers)
    for fan in fans:  # and each fan's own flag agrees with the list
        assert (await client.engagement(tweet_id, user=fan)).viewer.liked == (fan in likers)


async def test_concurrent_retweets_and_unretweets_by_one_user_agree_with_the_tweet_service(
    world: World, client: Client
) -> None:
    """A retweet is a row in the tweet service plus our record; racing retweet/unretweet must not split them."""
    world.retweet_delay = 0.02
    tweet_id = world.post(new_user())
    fan = new_user()
    rng = random.Random(11)
    calls = []
    for _ in range(40):
        if rng.random() < 0.5:
            calls.append(client("RetweetTweet", pb.RetweetTweetRequest(tweet_id=tweet_id), user=fan))
        else:
            calls.append(client("UnretweetTweet", pb.UnretweetTweetRequest(tweet_id=tweet_id), user=fan))
    await asyncio.gather(*calls)
    state = await client.engagement(tweet_id, user=fan)
    has_row = (fan, tweet_id) in world.retweet_rows
    assert state.viewer.retweeted == has_row
    assert state.retweet_count == int(has_row)
