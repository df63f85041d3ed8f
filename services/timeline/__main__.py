"""The timeline service process: `python -m services.timeline`."""

from __future__ import annotations

from chirp.classification.v1.classification_service_pb2_grpc import ClassificationServiceStub
from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.timeline.v1 import timeline_service_pb2_grpc
from chirp.tweet.v1.tweet_service_pb2_grpc import TweetServiceStub

from services.kit.server import Runtime, run
from services.timeline.cache import TimelineCache
from services.timeline.famous import FamousRegistry
from services.timeline.reading import HomeReader
from services.timeline.rebuild import Rebuilder
from services.timeline.service import TimelineService
from services.timeline.settings import TimelineSettings
from services.timeline.sources import Sources
from services.timeline.visits import Visits


async def setup(rt: Runtime[TimelineSettings]) -> None:
    redis = await rt.redis()
    cache = TimelineCache(redis, idle_ttl=rt.settings.timeline_idle_ttl)
    famous = FamousRegistry(redis)
    graph, tweets = rt.stub(GraphServiceStub), rt.stub(TweetServiceStub)
    sources = Sources(graph=graph, tweets=tweets)
    reader = HomeReader(
        cache=cache,
        famous=famous,
        rebuilder=Rebuilder(cache=cache, famous=famous, sources=sources),
        sources=sources,
        tweets=tweets,
        visits=Visits(rt.stub(ClassificationServiceStub)),
    )
    timeline_service_pb2_grpc.add_TimelineServiceServicer_to_server(TimelineService(reader=reader), rt.server)
    rt.add_service("chirp.timeline.v1.TimelineService")


if __name__ == "__main__":
    run("timeline", setup, settings_cls=TimelineSettings)
