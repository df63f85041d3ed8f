"""The notification service as a process runs it (its real `setup`, the kit's interceptors, real gRPC, a real
JetStream, Valkey and SMTP server), with in-memory user, tweet, graph and presence services in the mesh's place
(tests.notification.fakes). Events are published on JetStream as their owners publish them.

Every test works on its own users, so the module shares one service.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from chirp.engagement.v1 import engagement_events_pb2 as engagement_events
from chirp.graph.v1 import graph_events_pb2 as graph_events
from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.notification.v1 import notification_pb2
from chirp.notification.v1 import notification_service_pb2 as pb
from chirp.notification.v1.notification_service_pb2_grpc import NotificationServiceStub
from chirp.presence.v1 import presence_pb2
from chirp.tweet.v1 import tweet_events_pb2 as tweet_events
from chirp.tweet.v1 import tweet_pb2
from google.protobuf.message import Message

from services.kit.errors import ErrorDetails, error_details
from services.kit.events import Delivery, Events
from services.kit.identity import USER_ID_HEADER
from services.kit.server import serving
from services.kit.snowflake import Snowflake
from services.kit.sqlite import Database
from services.kit.timestamps import to_timestamp
from services.notification.__main__ import setup as notification_setup
from services.notification.consumers import Intake, consumers
from services.notification.inbox import Inbox
from services.notification.people import Relations
from services.notification.settings import NotificationSettings
from services.notification.store import MIGRATIONS, NotificationStore
from tests.notification.fakes import World, serve_fakes
from tests.notification.smtp import Mailbox

pytestmark = pytest.mark.asyncio(loop_scope="session")

LIKE, RETWEET, REPLY, QUOTE, MENTION, FOLLOW, FOLLOW_REQUEST = range(1, 8)
KEEPALIVE = 0.5
DIGEST_AFTER = 0.6


class Client:
    """Calls the notification service as a user (None: anonymous), as the edge would."""

    def __init__(self, stub: NotificationServiceStub) -> None:
        self.stub = stub

    async def __call__(self, method: str, request: Message, *, user: int | None) -> Any:
        return await getattr(self.stub, method)(request, metadata=_as(user), timeout=10)

    async def fails(self, method: str, request: Message, *, user: int | None) -> ErrorDetails:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await self(method, request, user=user)
        return error_details(caught.value)

    async def listing(self, user: int, **fields: Any) -> list[notification_pb2.Notification]:
        answer = await self("ListNotifications", pb.ListNotificationsRequest(**fields), user=user)
        return list(answer.notifications)

    async def unread(self, user: int) -> int:
        answer = await self("GetUnreadCount", pb.GetUnreadCountRequest(), user=user)
        return int(answer.unread_count)

    def stream(self, user: int | None) -> Any:
        return self.stub.StreamNotifications(pb.StreamNotificationsRequest(), metadata=_as(user))


def _as(user: int | None) -> tuple[tuple[str, str], ...]:
    return ((USER_ID_HEADER, str(user)),) if user is not None else ()


@dataclass
class Env:
    world: World
    client: Client
    events: Events
    mailbox: Mailbox
    mesh: str
    data: Path


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(tmp_path_factory: pytest.TempPathFactory, nats_url: str, redis_url: str) -> AsyncIterator[Env]:
    world = World()
    data = tmp_path_factory.mktemp("notification")
    fakes_settings = NotificationSettings(grpc_port=0, data_dir=data / "fakes", shutdown_grace=0.5)
    async with Mailbox.running() as mailbox, serving("fakes", fakes_settings, serve_fakes(world)) as fakes:
        mesh = f"127.0.0.1:{fakes.port}"
        settings = NotificationSettings(
            grpc_port=0,
            data_dir=data,
            nats_url=nats_url,
            redis_url=redis_url,
            mesh_addr=mesh,
            shutdown_grace=0.5,
            worker_id=9,
            notification_stream_keepalive=KEEPALIVE,
            notification_max_streams=2,
            notification_digest_after=DIGEST_AFTER,
            notification_digest_interval=0.1,
            notification_digest_period=3600,
            smtp_host=mailbox.host,
            smtp_port=mailbox.port,
            smtp_from="Chirp <digests@chirp.test>",
        )
        events = await Events.connect(nats_url, service="notification-test")
        try:
            async with serving("notification", settings, notification_setup) as rt:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{rt.port}") as channel:
                    yield Env(world, Client(NotificationServiceStub(channel)), events, mailbox, mesh, data)
        finally:
            await events.close()


@pytest.fixture
def world(env: Env) -> World:
    env.world.graph_down = False
    env.world.presence_implemented = True
    return env.world


@pytest.fixture
def client(env: Env) -> Client:
    return env.client


async def publish(env: Env, subject: str, event: Message, *, msg_id: str | None = None) -> str:
    msg_id = msg_id or f"{subject}:{uuid.uuid4().hex}"
    await env.events.publish(subject, event, msg_id=msg_id)
    return msg_id


def liked(actor: int, tweet: int, author: int) -> engagement_events.TweetLiked:
    return engagement_events.TweetLiked(
        actor_user_id=actor, tweet_id=tweet, tweet_author_id=author, occurred_at=to_timestamp(time.time())
    )


def created(tweet: int, author: int, **fields: Any) -> tweet_events.TweetCreated:
    mentions = [tweet_pb2.MentionEntity(user_id=u, username=f"u{u}") for u in fields.pop("mentions", [])]
    return tweet_events.TweetCreated(
        tweet_id=tweet, author_id=author, entities=tweet_pb2.TweetEntities(mentions=mentions), **fields
    )


async def eventually(check: Any, *, within: float = 5.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s (last: {result!r})")
        await asyncio.sleep(0.02)


async def listed(client: Client, user: int, count: int = 1, **fields: Any) -> list[notification_pb2.Notification]:
    """The user's notifications once there are `count` of them."""

    async def check() -> list[notification_pb2.Notification] | None:
        items = await client.listing(user, **fields)
        return items if len(items) >= count else None

    result: list[notification_pb2.Notification] = await eventually(check)
    return result


async def stays_empty(client: Client, user: int, *, settle: float = 0.5) -> None:
    """Nothing shows up for `user` while a later event (published after the one under test) goes through."""
    await asyncio.sleep(settle)
    assert await client.listing(user) == []
    assert await client.unread(user) == 0


# --- from events to the list ----------------------------------------------------------------------------------


async def test_a_like_makes_a_notification_with_its_actor_tweet_and_summary(
    env: Env, world: World, client: Client
) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    tweet = world.post(alice, "hello world")
    await publish(env, "chirp.engagement.liked", liked(bob, tweet, alice))
    [item] = await listed(client, alice)
    assert item.type == LIKE
    assert [(a.id, a.username, a.display_name) for a in item.actors] == [(bob, "bob", "Bob")]
    assert (item.actor_count, item.tweet.id, item.tweet.text) == (1, tweet, "hello world")
    assert item.summary == "Bob liked your tweet"
    assert not item.read and item.created_at == item.updated_at
    assert await client.unread(alice) == 1


async def test_likes_group_and_each_kind_says_what_happened(env: Env, world: World, client: Client) -> None:
    alice = world.user("alice")
    fans = [world.user(name) for name in ("bob", "carol", "dave", "erin")]
    tweet = world.post(alice)
    for fan in fans:
        await publish(env, "chirp.engagement.liked", liked(fan, tweet, alice))
        await publish(
            env,
            "chirp.engagement.retweeted",
            engagement_events.TweetRetweeted(actor_user_id=fan, tweet_id=tweet, tweet_author_id=alice),
        )
    await publish(env, "chirp.graph.followed", graph_events.Followed(actor_user_id=fans[0], target_user_id=alice))
    await publish(
        env, "chirp.graph.follow_requested", graph_events.FollowRequested(actor_user_id=fans[1], target_user_id=alice)
    )

    async def settled() -> list[notification_pb2.Notification] | None:
        items = await client.listing(alice)
        counts = sorted((i.type, i.actor_count) for i in items)
        return items if counts == [(LIKE, 4), (RETWEET, 4), (FOLLOW, 1), (FOLLOW_REQUEST, 1)] else None

    items = {i.type: i for i in await eventually(settled)}
    like = items[LIKE]
    assert like.summary == "Erin and 3 others liked your tweet"
    assert [a.username for a in like.actors] == ["erin", "dave", "carol"]  # the latest three, newest first
    assert like.updated_at.ToNanoseconds() >= like.created_at.ToNanoseconds()
    assert items[RETWEET].summary == "Erin and 3 others retweeted your tweet"
    assert items[FOLLOW].summary == "Bob followed you" and not items[FOLLOW].HasField("tweet")
    assert items[FOLLOW_REQUEST].summary == "Carol requested to follow you"
    assert await client.unread(alice) == 4


async def test_a_flood_of_follows_of_one_account_is_handled_together(env: Env, world: World, client: Client) -> None:
    star = world.user("star")
    fans = [world.user() for _ in range(200)]
    calls = world.calls["BatchGetRelationships"]
    follows = [graph_events.Followed(actor_user_id=fan, target_user_id=star) for fan in fans]
    await asyncio.gather(*(publish(env, "chirp.graph.followed", follow) for follow in follows))

    async def everyone() -> bool:
        return sum(i.actor_count for i in await client.listing(star) if i.type == FOLLOW) == len(fans)

    await eventually(everyone, within=20)
    # The star's relationships to many followers are asked in one call, not one call per follow.
    assert world.calls["BatchGetRelationships"] - calls <= len(fans) // 10


async def test_replies_quotes_and_mentions_notify_each_user_once(env: Env, world: World, client: Client) -> None:
    alice, bob, carol, dave = world.user("alice"), world.user("bob"), world.user("carol"), world.user("dave")
    original = world.post(alice, "the original")
    reply = world.post(bob, "@alice @carol replying")
    # A reply to alice that mentions alice and carol: alice gets the reply only, carol the mention.
    await publish(
        env,
        "chirp.tweet.created",
        created(reply, bob, reply_to_tweet_id=original, reply_to_user_id=alice, mentions=[alice, carol, carol]),
    )
    quote = world.post(dave, "quoting you")
    await publish(
        env,
        "chirp.tweet.created",
        created(quote, dave, quote_tweet_id=original, quote_tweet_author_id=alice, mentions=[dave]),
    )
    retweet_row = world.post(dave, "")
    await publish(  # a retweet row: the engagement event notifies of retweets, not this
        env,
        "chirp.tweet.created",
        created(retweet_row, dave, retweeted_tweet_id=original, retweeted_tweet_author_id=alice),
    )
    items = await listed(client, alice, 2)
    assert sorted((i.type, i.tweet.id, i.summary) for i in items) == [
        (REPLY, reply, "Bob replied to your tweet"),
        (QUOTE, quote, "Dave quoted your tweet"),
    ]
    [mention] = await listed(client, carol)
    assert (mention.type, mention.tweet.id, mention.summary) == (MENTION, reply, "Bob mentioned you")
    await stays_empty(client, dave)  # his own mention of himself
    mentions_tab = await client.listing(alice, types=[REPLY, QUOTE, MENTION])
    assert len(mentions_tab) == 2
    assert [i.type for i in await client.listing(alice, types=[QUOTE])] == [QUOTE]


async def test_a_protected_accounts_tweet_notifies_only_its_approved_followers(
    env: Env, world: World, client: Client
) -> None:
    secret, follower, stranger = world.user("secret"), world.user("follower"), world.user("stranger")
    world.protected.add(secret)
    world.follows.add((follower, secret))
    tweet = world.post(secret, "@follower @stranger psst")
    await publish(
        env, "chirp.tweet.created", created(tweet, secret, author_protected=True, mentions=[follower, stranger])
    )
    [item] = await listed(client, follower)
    assert item.type == MENTION
    await stays_empty(client, stranger)


async def test_nothing_from_blocked_or_muted_users(env: Env, world: World, client: Client) -> None:
    alice, blocker, blocked, muted, fine = (world.user(n) for n in ("alice", "blocker", "blocked", "muted", "fine"))
    world.blocks |= {(blocker, alice), (alice, blocked)}
    world.mutes.add((alice, muted))
    tweet = world.post(alice)
    for actor in (blocker, blocked, muted):
        await publish(env, "chirp.engagement.liked", liked(actor, tweet, alice))
        await publish(env, "chirp.graph.followed", graph_events.Followed(actor_user_id=actor, target_user_id=alice))
    await publish(env, "chirp.engagement.liked", liked(fine, tweet, alice))  # handled after the others
    [item] = await listed(client, alice)
    assert [a.id for a in item.actors] == [fine] and item.actor_count == 1
    assert await client.unread(alice) == 1


async def test_blocking_or_muting_later_takes_the_actions_out(env: Env, world: World, client: Client) -> None:
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol")
    tweet = world.post(alice)
    for actor in (bob, carol):
        await publish(env, "chirp.engagement.liked", liked(actor, tweet, alice))
    await publish(env, "chirp.graph.followed", graph_events.Followed(actor_user_id=bob, target_user_id=alice))
    await listed(client, alice, 2)

    # Filtered at read time at once (the graph already says so) ...
    world.mutes.add((alice, bob))
    [item] = await client.listing(alice)
    assert (item.type, item.actor_count, [a.id for a in item.actors]) == (LIKE, 1, [carol])
    assert item.summary == "Carol liked your tweet"
    # ... and taken out of the store, and the unread count, by the graph's event.
    await publish(env, "chirp.graph.muted", graph_events.Muted(actor_user_id=alice, target_user_id=bob))
    assert await eventually(lambda: _unread_is(client, alice, 1))
    world.mutes.discard((alice, bob))  # unmuting does not bring it back
    [item] = await client.listing(alice)
    assert item.actor_count == 1

    world.blocks.add((carol, alice))  # carol blocks alice: the like goes too
    await publish(env, "chirp.graph.blocked", graph_events.Blocked(actor_user_id=carol, target_user_id=alice))
    assert await eventually(lambda: _unread_is(client, alice, 0))
    assert await client.listing(alice) == []


async def _unread_is(client: Client, user: int, count: int) -> bool:
    return await client.unread(user) == count


async def test_a_deleted_tweet_takes_its_notifications_along(env: Env, world: World, client: Client) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    tweet = world.post(alice)
    await publish(env, "chirp.engagement.liked", liked(bob, tweet, alice))
    await listed(client, alice)
    del world.tweets[tweet]  # gone from the tweet service: hidden at once
    assert await client.listing(alice) == []
    await publish(env, "chirp.tweet.deleted", tweet_events.TweetDeleted(tweet_id=tweet, author_id=alice))
    assert await eventually(lambda: _unread_is(client, alice, 0))


async def test_a_failed_graph_call_is_retried_and_then_notifies(env: Env, world: World, client: Client) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    tweet = world.post(alice)
    world.graph_down = True
    calls = world.calls["BatchGetRelationships"]
    await publish(env, "chirp.engagement.liked", liked(bob, tweet, alice))
    await eventually(lambda: _true(world.calls["BatchGetRelationships"] > calls))
    world.graph_down = False
    [item] = await listed(client, alice)  # the redelivery, a second later
    assert item.summary == "Bob liked your tweet"


async def _true(value: bool) -> bool:
    return value


# --- redelivery -------------------------------------------------------------------------------------------------


class LosesTheFirstAck(Intake):
    """Fails the first delivery of every like *after* handling it, as a crash between commit and ack would."""

    def __init__(self, inbox: Inbox, relations: Relations, author: int) -> None:
        super().__init__(inbox, relations)
        self.author = author
        self.deliveries: list[int] = []

    async def on_liked(self, event: engagement_events.TweetLiked, delivery: Delivery) -> None:
        await super().on_liked(event, delivery)
        if event.tweet_author_id == self.author:  # the stream holds other tests' events too
            self.deliveries.append(delivery.num_delivered)
            if delivery.num_delivered == 1:
                raise RuntimeError("lost the ack")


async def test_a_redelivery_after_a_lost_ack_notifies_nobody_twice(env: Env, world: World, nats_url: str) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    tweet = world.post(alice)
    db = await Database.open(env.data / f"redelivery-{uuid.uuid4().hex}.db", MIGRATIONS)
    store = NotificationStore(db)
    async with grpc.aio.insecure_channel(env.mesh) as channel:
        inbox = Inbox(store, Snowflake(11), group_window=3600)
        intake = LosesTheFirstAck(inbox, Relations(GraphServiceStub(channel)), alice)
        events = await Events.connect(nats_url, service="notification-redelivery-test")
        prefix = f"t{uuid.uuid4().hex[:8]}"
        loops = [asyncio.create_task(loop) for _, loop in consumers(events, intake, prefix=prefix)]
        try:
            await publish(env, "chirp.engagement.liked", liked(bob, tweet, alice))
            await eventually(lambda: _true(intake.deliveries == [1, 2]))  # the redelivery, a second later
            page = await store.page(alice, before=None, limit=10)
            assert [(n.actor_count, n.actors) for n in page] == [(1, (bob,))]
            assert await store.unread_count(alice) == 1
        finally:
            await events.stop_consuming(within=5)
            await asyncio.gather(*loops, return_exceptions=True)
            await events.close()
            await db.close()


async def test_the_same_event_published_twice_notifies_once(env: Env, world: World, client: Client) -> None:
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol")
    tweet = world.post(alice)
    event = liked(bob, tweet, alice)
    msg_id = await publish(env, "chirp.engagement.liked", event)
    await publish(env, "chirp.engagement.liked", event, msg_id=msg_id)  # JetStream keeps one
    await publish(env, "chirp.engagement.liked", event)  # a copy under another id (republished late)
    await publish(env, "chirp.engagement.liked", liked(carol, tweet, alice))
    [item] = await listed(client, alice)
    await eventually(lambda: _actor_count_is(client, alice, 2))
    assert item.type == LIKE


async def _actor_count_is(client: Client, user: int, count: int) -> bool:
    items = await client.listing(user)
    return len(items) == 1 and items[0].actor_count == count


# --- unread count and mark-read ---------------------------------------------------------------------------------


async def test_mark_read_up_to_an_id(env: Env, world: World, client: Client) -> None:
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol")
    for actor, kind in ((bob, "followed"), (carol, "liked")):
        if kind == "followed":
            await publish(env, "chirp.graph.followed", graph_events.Followed(actor_user_id=actor, target_user_id=alice))
        else:
            await publish(env, "chirp.engagement.liked", liked(actor, world.post(alice), alice))
        await listed(client, alice, 1 if actor == bob else 2)
    _, oldest = await client.listing(alice)
    answer = await client("MarkRead", pb.MarkReadRequest(up_to_id=oldest.id), user=alice)
    assert answer.unread_count == 1
    assert [i.read for i in await client.listing(alice)] == [False, True]
    answer = await client("MarkRead", pb.MarkReadRequest(up_to_id=2**63 - 1), user=alice)
    assert answer.unread_count == 0 and await client.unread(alice) == 0
    answer = await client("MarkRead", pb.MarkReadRequest(up_to_id=oldest.id), user=alice)  # never unread again
    assert answer.unread_count == 0


async def test_pages_are_newest_first_and_tokens_belong_to_their_list(env: Env, world: World, client: Client) -> None:
    alice, bob = world.user("alice"), world.user("bob")
    for n in range(5):
        tweet = world.post(bob, f"mention {n}")
        await publish(env, "chirp.tweet.created", created(tweet, bob, mentions=[alice]))
    everything = await listed(client, alice, 5)
    ids = [i.id for i in everything]
    assert ids == sorted(ids, reverse=True)
    seen, token = [], ""
    while True:
        page = await client("ListNotifications", pb.ListNotificationsRequest(page_size=2, page_token=token), user=alice)
        seen += [i.id for i in page.notifications]
        token = page.next_page_token
        if not token:
            break
    assert seen == ids
    first = await client("ListNotifications", pb.ListNotificationsRequest(page_size=2), user=alice)
    token = first.next_page_token
    for request, user in (
        (pb.ListNotificationsRequest(page_token=token), bob),  # another caller
        (pb.ListNotificationsRequest(page_token=token, types=[MENTION]), alice),  # other types
        (pb.ListNotificationsRequest(page_token="123"), alice),  # made up
        (pb.ListNotificationsRequest(page_token=token + "0"), alice),
    ):
        details = await client.fails("ListNotifications", request, user=user)
        assert (details.code, details.reason, details.fields) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_PAGE_TOKEN",
            ["page_token"],
        )


@pytest.mark.parametrize(
    ("method", "request_", "field"),
    [
        ("ListNotifications", pb.ListNotificationsRequest(page_size=101), "page_size"),
        ("ListNotifications", pb.ListNotificationsRequest(page_size=-1), "page_size"),
        ("ListNotifications", pb.ListNotificationsRequest(types=[0]), "types[0]"),
        ("ListNotifications", pb.ListNotificationsRequest(types=[LIKE, LIKE]), "types"),
        ("ListNotifications", pb.ListNotificationsRequest(types=[42]), "types[0]"),
        ("ListNotifications", pb.ListNotificationsRequest(page_token="x" * 513), "page_token"),
        ("MarkRead", pb.MarkReadRequest(), "up_to_id"),
        ("MarkRead", pb.MarkReadRequest(up_to_id=-5), "up_to_id"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    client: Client, method: str, request_: Message, field: str
) -> None:
    details = await client.fails(method, request_, user=12345)
    assert (details.code, details.reason, details.fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        [field],
    )


@pytest.mark.parametrize(
    ("method", "request_"),
    [
        ("ListNotifications", pb.ListNotificationsRequest()),
        ("GetUnreadCount", pb.GetUnreadCountRequest()),
        ("MarkRead", pb.MarkReadRequest(up_to_id=1)),
    ],
)
async def test_every_call_needs_a_caller(client: Client, method: str, request_: Message) -> None:
    details = await client.fails(method, request_, user=None)
    assert (details.code, details.reason) == (grpc.StatusCode.UNAUTHENTICATED, "AUTHENTICATION_REQUIRED")


# --- the live stream ----------------------------------------------------------------------------------------------


async def read(call: Any, within: float = 2.0) -> pb.StreamNotificationsResponse:
    message = await asyncio.wait_for(call.read(), within)
    assert message is not grpc.aio.EOF
    assert isinstance(message, pb.StreamNotificationsResponse)
    return message


async def test_the_stream_delivers_new_and_updated_notifications_and_count_changes(
    env: Env, world: World, client: Client
) -> None:
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol")
    tweet = world.post(alice)
    await publish(env, "chirp.graph.followed", graph_events.Followed(actor_user_id=carol, target_user_id=alice))
    await listed(client, alice)
    call = client.stream(alice)
    try:
        first = await read(call)
        assert (first.unread_count, first.HasField("notification")) == (1, False)

        started = time.monotonic()
        await publish(env, "chirp.engagement.liked", liked(bob, tweet, alice))
        new = await read(call)
        latency = time.monotonic() - started
        assert (new.notification.type, new.notification.summary, new.unread_count) == (LIKE, "Bob liked your tweet", 2)
        assert latency < 1.0, f"{latency:.3f}s from publish to stream"

        await publish(env, "chirp.engagement.liked", liked(carol, tweet, alice))
        grouped = await read(call)  # the same notification, updated in place
        assert grouped.notification.id == new.notification.id
        assert (grouped.notification.actor_count, grouped.unread_count) == (2, 2)

        await client("MarkRead", pb.MarkReadRequest(up_to_id=new.notification.id), user=alice)
        count_only = await read(call)
        assert (count_only.unread_count, count_only.HasField("notification")) == (0, False)

        keepalive = await read(call, within=KEEPALIVE * 4)  # nothing happens: the count again
        assert (keepalive.unread_count, keepalive.HasField("notification")) == (0, False)
    finally:
        call.cancel()


async def test_the_stream_shows_nothing_from_muted_users(env: Env, world: World, client: Client) -> None:
    alice, muted, fine = world.user("alice"), world.user("muted"), world.user("fine")
    world.mutes.add((alice, muted))
    tweet = world.post(alice)
    call = client.stream(alice)
    try:
        assert (await read(call)).unread_count == 0
        await publish(env, "chirp.engagement.liked", liked(muted, tweet, alice))
        await publish(env, "chirp.engagement.liked", liked(fine, tweet, alice))
        message = await read(call)
        assert [a.id for a in message.notification.actors] == [fine]
    finally:
        call.cancel()


async def test_streams_per_user_are_limited_and_need_a_caller(env: Env, world: World, client: Client) -> None:
    alice = world.user("alice")
    calls = [client.stream(alice) for _ in range(2)]
    try:
        for call in calls:
            await read(call)
        third = client.stream(alice)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await read(third)
        details = error_details(refused.value)
        assert (details.code, details.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_STREAMS")
        calls[0].cancel()

        async def reopened() -> bool:
            call = client.stream(alice)
            try:
                await read(call)
                return True
            except grpc.aio.AioRpcError:
                return False
            finally:
                call.cancel()

        assert await eventually(reopened)  # a closed stream frees its place
    finally:
        for call in calls:
            call.cancel()
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await read(client.stream(None))
    assert error_details(anonymous.value).reason == "AUTHENTICATION_REQUIRED"


# --- email digests ------------------------------------------------------------------------------------------------


def address(world: World, user: int) -> str:
    return f"{world.users[user]}@example.com"


async def test_a_user_away_gets_one_digest_of_their_unread_notifications(
    env: Env, world: World, client: Client
) -> None:
    alice, bob, carol = world.user(f"a{uuid.uuid4().hex[:8]}"), world.user("bob"), world.user("carol")
    tweet = world.post(alice, "my   first\ntweet")
    await publish(env, "chirp.engagement.liked", liked(bob, tweet, alice))
    await publish(env, "chirp.graph.followed", graph_events.Followed(actor_user_id=carol, target_user_id=alice))
    [message] = await env.mailbox.wait_for(address(world, alice), within=5)
    assert message["From"] == "Chirp <digests@chirp.test>"
    assert message["Subject"] in (
        "You have 2 unread notifications on Chirp",
        "You have 1 unread notification on Chirp",  # the follow may come after the digest
    )
    body = message.get_content()
    assert "- Bob liked your tweet" in body and '"my first tweet"' in body

    # At most one per period: more activity waits for the next period.
    await publish(env, "chirp.engagement.liked", liked(world.user("dave"), tweet, alice))
    await listed(client, alice, 2)
    await asyncio.sleep(DIGEST_AFTER + 0.5)
    assert len(env.mailbox.to(address(world, alice))) == 1


async def test_no_digest_while_the_user_is_present(env: Env, world: World, client: Client) -> None:
    alice, bob = world.user(f"a{uuid.uuid4().hex[:8]}"), world.user("bob")
    world.presence[alice] = (presence_pb2.PRESENCE_STATE_ONLINE, time.time())
    await publish(env, "chirp.graph.followed", graph_events.Followed(actor_user_id=bob, target_user_id=alice))
    await listed(client, alice)
    await asyncio.sleep(DIGEST_AFTER + 0.5)
    assert env.mailbox.to(address(world, alice)) == []
    # Gone offline a moment ago: still "around" until DIGEST_AFTER has passed since the last heartbeat.
    world.presence[alice] = (presence_pb2.PRESENCE_STATE_OFFLINE, time.time() + 3600)
    await asyncio.sleep(DIGEST_AFTER)
    assert env.mailbox.to(address(world, alice)) == []
    world.presence[alice] = (presence_pb2.PRESENCE_STATE_OFFLINE, time.time() - DIGEST_AFTER)
    [message] = await env.mailbox.wait_for(address(world, alice), within=5)
    assert "Bob followed you" in message.get_content()


async def test_no_digest_while_a_stream_is_open_nor_once_everything_is_read(
    env: Env, world: World, client: Client
) -> None:
    alice, bob = world.user(f"a{uuid.uuid4().hex[:8]}"), world.user("bob")
    call = client.stream(alice)
    try:
        await read(call)
        await publish(env, "chirp.graph.followed", graph_events.Followed(actor_user_id=bob, target_user_id=alice))
        message = await read(call)
        await asyncio.sleep(DIGEST_AFTER + 0.5)
        assert env.mailbox.to(address(world, alice)) == []
        await client("MarkRead", pb.MarkReadRequest(up_to_id=message.notification.id), user=alice)
    finally:
        call.cancel()
    await asyncio.sleep(DIGEST_AFTER + 0.5)  # away now, but nothing is unread
    assert env.mailbox.to(address(world, alice)) == []


async def test_without_a_presence_service_everyone_counts_as_away(env: Env, world: World, client: Client) -> None:
    world.presence_implemented = False
    alice, bob = world.user(f"a{uuid.uuid4().hex[:8]}"), world.user("bob")
    world.presence[alice] = (presence_pb2.PRESENCE_STATE_ONLINE, time.time())  # not asked: UNIMPLEMENTED
    await publish(env, "chirp.graph.followed", graph_events.Followed(actor_user_id=bob, target_user_id=alice))
    [message] = await env.mailbox.wait_for(address(world, alice), within=5)
    assert "Bob followed you" in message.get_content()
