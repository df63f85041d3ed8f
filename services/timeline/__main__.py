"""The timeline service process: `python -m services.timeline`."""

from __future__ import annotations

from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.timeline.v1 import timeline_service_pb2_grpc
from chirp.tweet.v1.tweet_service_pb2_grpc import TweetServiceStub

from services.kit.server import Runtime, run
from services.timeline.cache import TimelineCache
from services.timeline.service import TimelineService


async def setup(rt: Runtime) -> None:
    service = TimelineService(
        cache=TimelineCache(await rt.redis()), graph=rt.stub(GraphServiceStub), tweets=rt.stub(TweetServiceStub)
    )
    timeline_service_pb2_grpc.add_TimelineServiceServicer_to_server(service, rt.server)
    rt.add_service("chirp.timeline.v1.TimelineService")


if __name__ == "__main__":
    run("timeline", setup)
