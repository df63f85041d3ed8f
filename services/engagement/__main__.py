"""The engagement service process: `python -m services.engagement`."""

from __future__ import annotations

from chirp.engagement.v1 import engagement_service_pb2_grpc
from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.tweet.v1.tweet_events_pb2 import TweetDeleted
from chirp.tweet.v1.tweet_service_pb2_grpc import TweetServiceStub
from chirp.user.v1.user_service_pb2_grpc import UserServiceStub

from services.engagement import deletions
from services.engagement.ledger import Ledger
from services.engagement.people import People
from services.engagement.service import EngagementService
from services.engagement.store import MIGRATIONS, EngagementStore
from services.engagement.tweets import Tweets
from services.kit.server import Runtime, run


async def setup(rt: Runtime) -> None:
    events = await rt.events()
    await events.ensure_stream("engagement")
    await events.ensure_stream("tweet")  # consumed here; creating it is idempotent, whoever starts first
    db = await rt.database("engagement", MIGRATIONS)
    store = EngagementStore(db)
    ledger = Ledger(store, await rt.outbox(db), rt.snowflake)
    service = EngagementService(
        store=store,
        ledger=ledger,
        tweets=Tweets(rt.stub(TweetServiceStub)),
        people=People(users=rt.stub(UserServiceStub), graph=rt.stub(GraphServiceStub)),
    )
    engagement_service_pb2_grpc.add_EngagementServiceServicer_to_server(service, rt.server)
    rt.add_service("chirp.engagement.v1.EngagementService")
    handler = deletions.TweetDeletions(ledger).on_tweet_deleted
    rt.spawn(
        events.consume(deletions.SUBJECT, TweetDeleted, handler, durable=deletions.DURABLE), name=deletions.DURABLE
    )


if __name__ == "__main__":
    run("engagement", setup)
