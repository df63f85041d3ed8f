"""The tweet service process: `python -m services.tweet`."""

from __future__ import annotations

from chirp.tweet.v1 import tweet_service_pb2_grpc
from chirp.user.v1.user_service_pb2_grpc import UserServiceStub

from services.kit.server import Runtime, run
from services.tweet.service import TweetService
from services.tweet.store import MIGRATIONS, TweetStore


async def setup(rt: Runtime) -> None:
    await (await rt.events()).ensure_stream("tweet")
    db = await rt.database("tweet", MIGRATIONS)
    service = TweetService(
        store=TweetStore(db), outbox=await rt.outbox(db), ids=rt.snowflake, users=rt.stub(UserServiceStub)
    )
    tweet_service_pb2_grpc.add_TweetServiceServicer_to_server(service, rt.server)
    rt.add_service("chirp.tweet.v1.TweetService")


if __name__ == "__main__":
    run("tweet", setup)
