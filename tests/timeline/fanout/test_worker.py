"""The fan-out worker process as `python -m services.timeline.fanout` wires it (its `setup`), against real NATS
JetStream and Valkey, with the services it calls served over real gRPC by an in-memory world (no
classification service: it answers UNIMPLEMENTED, so the follower-count rule applies).

Also measures the fan-out lag for a few hundred followers, which it prints (run with -s to see it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import pytest_asyncio
from chirp.graph.v1 import graph_events_pb2
from chirp.tweet.v1 import tweet_events_pb2
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from services.kit.events import Events
from services.kit.interceptors import server_interceptors
from services.kit.server import serving
from services.timeline.cache import TimelineCache
from services.timeline.fanout.__main__ import setup
from services.timeline.fanout.settings import FanoutSettings
from stack import Settings, Stack
from tests.kit.support import eventually
from tests.timeline.fakes import World
from tests.timeline.fanout import peers

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def nats_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A NATS server of this module's own: the worker consumes the real subjects (chirp.tweet.created, …),
    which other tests' consumers on the shared server must not see, nor this worker theirs."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fanout-nats"),
        free_ports=True,
        infra=frozenset({"nats"}),
        envoy=False,
        services=(),
    )
    async with Stack(settings) as running:
        yield running.nats_url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world() -> AsyncIterator[World]:
    yield World()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def mesh(world: World) -> AsyncIterator[str]:
    """The graph, tweet and user services, served from the world on a free port."""
    server = grpc.aio.server(interceptors=server_interceptors("fake"))
    peers.add_graph(server, world)
    peers.add_tweets(server, world)
    peers.add_users(server, world)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(0)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def worker(
    mesh: str, nats_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[None]:
    settings = FanoutSettings(
        grpc_port=0,
        mesh_addr=mesh,
        nats_url=nats_url,
        redis_url=redis_url,
        data_dir=tmp_path_factory.mktemp("fanout"),
        famous_followers=3,
        fanout_concurrency=4,
    )
    async with serving("fanout", settings, setup):
        yield


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def events(nats_url: str) -> AsyncIterator[Events]:
    client = await Events.connect(nats_url, service="test")
    yield client
    await client.close()


@pytest_asyncio.fixture(loop_scope="session")
async def cache(redis_url: str) -> AsyncIterator[TimelineCache]:
    client = Redis.from_url(redis_url)
    yield TimelineCache(client)
    await client.aclose()


async def _built(cache: TimelineCache, *users: int) -> None:
    for user in users:
        await cache.begin_build(user)
        await cache.finish_build(user, [], [])


async def _publish(events: Events, event: tweet_events_pb2.TweetCreated) -> None:
    await events.publish("chirp.tweet.created", event, msg_id=f"tweet-created-{event.tweet_id}-{uuid.uuid4().hex}")


async def test_tweets_reach_followers_through_jetstream_once_each(
    worker: None, world: World, events: Events, cache: TimelineCache
) -> None:
    author, reader, idle = world.person(), world.person(), world.person()
    world.follow(reader, author)
    world.follow(idle, author)
    await _built(cache, reader)
    tweets = [world.post(author) for _ in range(5)]
    for tweet in tweets:
        await _publish(events, tweet)
        await _publish(events, tweet)  # a second delivery of the same event (a retry with a new message id)

    async def arrived() -> list[int] | None:
        found = await cache.members(reader)
        return found if len(found) == len(tweets) else None

    assert await eventually(arrived, within=5) == sorted((t.tweet_id for t in tweets), reverse=True)
    assert not await cache.exists(idle)


async def test_graph_events_change_timelines(worker: None, world: World, events: Events, cache: TimelineCache) -> None:
    author, reader = world.person(), world.person()
    await _built(cache, reader)
    tweet = world.post(author)
    world.follow(reader, author)
    await events.publish(
        "chirp.graph.followed",
        graph_events_pb2.Followed(actor_user_id=reader, target_user_id=author),
        msg_id=f"followed-{uuid.uuid4().hex}",
    )

    async def merged() -> bool | None:
        return True if await cache.members(reader) == [tweet.tweet_id] else None

    await eventually(merged, within=5)
    world.follows.discard((reader, author))
    await events.publish(
        "chirp.graph.unfollowed",
        graph_events_pb2.Unfollowed(actor_user_id=reader, target_user_id=author),
        msg_id=f"unfollowed-{uuid.uuid4().hex}",
    )

    async def removed() -> bool | None:
        return True if await cache.members(reader) == [] else None

    await eventually(removed, within=5)


async def test_the_fan_out_lag_for_a_few_hundred_followers(
    worker: None, world: World, events: Events, cache: TimelineCache
) -> None:
    author = world.person()
    # The worker's threshold here is 3 followers; this author's follower count is answered as 0 so that
    # the tweet is pushed to all 500.
    followers = [world.person() for _ in range(500)]
    for follower in followers:
        world.follow(follower, author)
    await _built(cache, *followers)
    famous_rule = world.BatchGetUsers

    async def ordinary(request: Any) -> Any:
        answer = await famous_rule(request)
        for user in answer.users:
            user.follower_count = 0
        return answer

    world.BatchGetUsers = ordinary  # type: ignore[method-assign]
    try:
        count_before = REGISTRY.get_sample_value("chirp_fanout_lag_seconds_count", {"path": "push"}) or 0.0
        sum_before = REGISTRY.get_sample_value("chirp_fanout_lag_seconds_sum", {"path": "push"}) or 0.0
        tweet = world.post(author)
        started = time.perf_counter()
        await _publish(events, tweet)

        async def delivered() -> float | None:
            count = REGISTRY.get_sample_value("chirp_fanout_lag_seconds_count", {"path": "push"}) or 0.0
            return count if count > count_before else None

        await eventually(delivered, within=10)
        elapsed = time.perf_counter() - started
        lag = (REGISTRY.get_sample_value("chirp_fanout_lag_seconds_sum", {"path": "push"}) or 0.0) - sum_before
        for follower in (followers[0], followers[-1]):
            assert await cache.members(follower) == [tweet.tweet_id]
        print(
            f"\nfan-out lag, 500 active followers: {lag * 1000:.1f} ms (publish to last write {elapsed * 1000:.1f} ms)"
        )
        assert lag < 1.0
    finally:
        world.BatchGetUsers = famous_rule  # type: ignore[method-assign]
