"""The search service process: `python -m services.search`. Serves SearchService and runs the indexer."""

from __future__ import annotations

from chirp.engagement.v1.engagement_service_pb2_grpc import EngagementServiceStub
from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.search.v1 import search_service_pb2_grpc
from chirp.tweet.v1.tweet_service_pb2_grpc import TweetServiceStub
from chirp.user.v1.user_service_pb2_grpc import UserServiceStub

from services.kit.server import Runtime, run
from services.search.hashtag_index import HashtagIndex
from services.search.hashtag_search import HashtagSearch
from services.search.indexer import STREAMS, FollowerCounts, Indexer, consumers
from services.search.peers import Peers
from services.search.schema import Collections, prepare
from services.search.service import SearchService
from services.search.settings import SearchSettings
from services.search.tweet_index import TweetIndex
from services.search.tweet_search import TweetSearch
from services.search.typesense import Typesense
from services.search.user_index import UserIndex
from services.search.user_search import UserSearch


async def setup(rt: Runtime[SearchSettings]) -> None:
    settings = rt.settings
    typesense = Typesense(settings.typesense_url, settings.api_key(), timeout=settings.typesense_timeout)
    rt.stack.push_async_callback(typesense.close)
    collections = Collections.with_prefix(settings.search_collection_prefix)
    await prepare(typesense, collections, url=settings.typesense_url)

    tweets = TweetIndex(typesense, collections.tweets)
    users = UserIndex(typesense, collections.users)
    hashtags = HashtagIndex(typesense, collections.hashtags, tweets)
    peers = Peers(
        tweets=rt.stub(TweetServiceStub),
        users=rt.stub(UserServiceStub),
        graph=rt.stub(GraphServiceStub),
        engagement=rt.stub(EngagementServiceStub),
    )
    service = SearchService(
        tweets=TweetSearch(tweets, peers), users=UserSearch(users, peers), hashtags=HashtagSearch(hashtags)
    )
    search_service_pb2_grpc.add_SearchServiceServicer_to_server(service, rt.server)
    rt.add_service("chirp.search.v1.SearchService")

    events = await rt.events()
    for domain in STREAMS:  # consumed here; creating a stream is idempotent, whoever starts first
        await events.ensure_stream(domain)
    indexer = Indexer(tweets=tweets, users=users, hashtags=hashtags, peers=peers)
    followers = FollowerCounts(users, peers)
    for name, loop in consumers(events, indexer, followers):
        rt.spawn(loop, name=name)
    rt.spawn(followers.run(), name="search-follower-counts")


if __name__ == "__main__":
    run("search", setup, settings_cls=SearchSettings)
