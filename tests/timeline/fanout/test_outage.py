"""A graph outage longer than the consumers' whole retry schedule loses no fan-out.

The fan-out worker as `python -m services.timeline.fanout` wires it (its `setup`), with a short retry schedule,
calls the graph, tweet and user services through a real Envoy mesh; they are served from an in-memory world on
their registry ports, NATS and Valkey are real. The graph's server is stopped — connections to it are refused and the
mesh answers UNAVAILABLE — while tweets are published, stays down until every tweet has been delivered more
often than `max_deliver` allows an event that fails on its own, and is started again on the same port.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable

import grpc
import pytest
import pytest_asyncio
from chirp.tweet.v1 import tweet_events_pb2
from redis.asyncio import Redis

from services.kit.deadletters import dead_letters
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

MAX_DELIVER = 2
DURABLE = "fanout-tweet-created"


class _Peer:
    """One service's gRPC server on its registry port (where the mesh sends its calls): stopped and started again."""

    def __init__(self, port: int, add: Callable[[grpc.aio.Server], None]) -> None:
        self._port = port
        self._add = add
        self._server: grpc.aio.Server | None = None

    async def start(self) -> None:
        server = grpc.aio.server(interceptors=server_interceptors("fake"))
        self._add(server)
        assert server.add_insecure_port(f"127.0.0.1:{self._port}") == self._port
        await server.start()
        self._server = server

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(0)
            self._server = None


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def mesh_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """NATS, Valkey and the Envoy mesh of this module's own; no service processes (the peers are in-process)."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("fanout-outage"),
        free_ports=True,
        infra=frozenset({"nats", "valkey"}),
        services=(),
    )
    async with Stack(settings) as running:
        yield running


def _deliveries_during_outage(records: Iterable[logging.LogRecord]) -> dict[str, int]:
    """The highest delivery number each event reached while a dependency was down, from the kit's log lines."""
    seen: dict[str, int] = {}
    for r in records:
        if r.name == "services.kit.events" and "waits for a dependency" in r.msg and isinstance(r.args, tuple):
            durable, _, msg_id, delivery = r.args[:4]
            if durable == DURABLE:
                seen[str(msg_id)] = max(seen.get(str(msg_id), 0), int(delivery))  # type: ignore[call-overload]
    return seen


async def test_tweets_published_while_the_graph_is_down_reach_every_follower_once_it_is_back(
    mesh_stack: Stack, tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="services.kit.events")
    world = World()
    ports = mesh_stack.ports.grpc
    graph = _Peer(ports["graph"], lambda server: peers.add_graph(server, world))
    tweets_and_users = [
        _Peer(ports["tweet"], lambda server: peers.add_tweets(server, world)),
        _Peer(ports["user"], lambda server: peers.add_users(server, world)),
    ]
    for peer in (graph, *tweets_and_users):
        await peer.start()
    settings = FanoutSettings(
        grpc_port=0,
        mesh_addr=mesh_stack.mesh_addr,
        nats_url=mesh_stack.nats_url,
        redis_url=mesh_stack.redis_url,
        data_dir=tmp_path_factory.mktemp("fanout-outage-data"),
        fanout_concurrency=2,
        # The whole schedule for an event's own failures is a twentieth of a second; the outage lasts far longer.
        event_max_deliver=MAX_DELIVER,
        event_retry_backoff=(0.05,),
        event_outage_backoff=(0.05, 0.1, 0.2),
    )
    redis = Redis.from_url(mesh_stack.redis_url)
    events = await Events.connect(mesh_stack.nats_url, service="test")
    cache = TimelineCache(redis)
    try:
        async with serving("fanout", settings, setup):
            author, followers = world.person(), [world.person() for _ in range(5)]
            for follower in followers:
                world.follow(follower, author)
                await cache.begin_build(follower)
                await cache.finish_build(follower, [], [])

            async def publish(tweet: tweet_events_pb2.TweetCreated) -> None:
                await events.publish("chirp.tweet.created", tweet, msg_id=f"tweet-created-{tweet.tweet_id}")

            async def everyone_has(ids: list[int]) -> bool | None:
                want = sorted(ids, reverse=True)
                return all([await cache.members(f) == want for f in followers]) or None

            before = world.post(author)
            await publish(before)
            await eventually(lambda: everyone_has([before.tweet_id]), within=10)

            await graph.stop()
            during = [world.post(author) for _ in range(6)]
            for tweet in during:
                await publish(tweet)

            async def tried_past_max_deliver() -> bool | None:
                reached = _deliveries_during_outage(caplog.records)
                return all(reached.get(f"tweet-created-{t.tweet_id}", 0) > MAX_DELIVER + 2 for t in during) or None

            await eventually(tried_past_max_deliver, within=60)
            assert await everyone_has([before.tweet_id]), "nothing reached a timeline while the graph was down"
            assert await dead_letters(events.js, durable=DURABLE) == [], "an outage is not the event's fault"

            await graph.start()
            await eventually(lambda: everyone_has([t.tweet_id for t in (before, *during)]), within=30)
            assert await dead_letters(events.js, durable=DURABLE) == []
    finally:
        await events.close()
        await redis.aclose()
        for peer in (graph, *tweets_and_users):
            await peer.stop()
