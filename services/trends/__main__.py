"""The trends service process: `python -m services.trends`."""

from __future__ import annotations

from chirp.trends.v1 import trends_service_pb2_grpc
from chirp.tweet.v1.tweet_events_pb2 import TweetCreated, TweetDeleted

from services.kit.server import Runtime, run
from services.trends import counting
from services.trends.ranking import Ranker
from services.trends.service import TrendsService
from services.trends.settings import TrendsSettings
from services.trends.window import TrendWindows


async def setup(rt: Runtime[TrendsSettings]) -> None:
    events = await rt.events()
    await events.ensure_stream("tweet")  # consumed here; creating it is idempotent, whoever starts first
    windows = TrendWindows(await rt.redis(), rt.settings.params())
    trends_service_pb2_grpc.add_TrendsServiceServicer_to_server(TrendsService(windows), rt.server)
    rt.add_service("chirp.trends.v1.TrendsService")
    counter = counting.HashtagCounter(windows)
    rt.spawn(
        events.consume(counting.CREATED, TweetCreated, counter.on_created, durable=counting.CREATED_DURABLE),
        name=counting.CREATED_DURABLE,
    )
    rt.spawn(
        events.consume(counting.DELETED, TweetDeleted, counter.on_deleted, durable=counting.DELETED_DURABLE),
        name=counting.DELETED_DURABLE,
    )
    rt.spawn(Ranker(windows).run(every=rt.settings.trends_refresh_seconds), name="trends-ranker")


if __name__ == "__main__":
    run("trends", setup, settings_cls=TrendsSettings)
