"""The fan-out worker process: `python -m services.fanout`. Serves health only; works from JetStream."""

from __future__ import annotations

from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.tweet.v1.tweet_events_pb2 import TweetCreated

from services.fanout.delivery import Fanout
from services.kit.server import Runtime, run
from services.timeline.cache import TimelineCache

# Tweets of different authors are independent; several in flight keep a 100k-follower delivery from
# holding up everyone else's.
_CONCURRENCY = 8


async def setup(rt: Runtime) -> None:
    events = await rt.events()
    await events.ensure_stream("tweet")
    fanout = Fanout(cache=TimelineCache(await rt.redis()), graph=rt.stub(GraphServiceStub))
    rt.spawn(
        events.consume(
            "chirp.tweet.created",
            TweetCreated,
            fanout.on_tweet_created,
            durable="fanout-tweet-created",
            concurrency=_CONCURRENCY,
        ),
        name="fanout-tweet-created",
    )


if __name__ == "__main__":
    run("fanout", setup)
