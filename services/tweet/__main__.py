"""The tweet service process: `python -m services.tweet`."""

from __future__ import annotations

from chirp.engagement.v1.engagement_service_pb2_grpc import EngagementServiceStub
from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.media.v1.media_service_pb2_grpc import MediaServiceStub
from chirp.tweet.v1 import tweet_service_pb2_grpc
from chirp.user.v1.user_service_pb2_grpc import UserServiceStub

from services.kit.server import Runtime, run
from services.tweet.peers import Peers
from services.tweet.reading import Reader
from services.tweet.service import TweetService
from services.tweet.store import MIGRATIONS, TweetStore
from services.tweet.writing import Writer


async def setup(rt: Runtime) -> None:
    await (await rt.events()).ensure_stream("tweet")
    db = await rt.database("tweet", MIGRATIONS)
    store = TweetStore(db)
    peers = Peers(
        users=rt.stub(UserServiceStub),
        graph=rt.stub(GraphServiceStub),
        engagement=rt.stub(EngagementServiceStub),
        media=rt.stub(MediaServiceStub),
    )
    service = TweetService(
        writer=Writer(store=store, peers=peers, outbox=await rt.outbox(db), ids=rt.snowflake),
        reader=Reader(store=store, peers=peers),
    )
    tweet_service_pb2_grpc.add_TweetServiceServicer_to_server(service, rt.server)
    rt.add_service("chirp.tweet.v1.TweetService")


if __name__ == "__main__":
    run("tweet", setup)
