"""Fixtures of the search tests: the real Typesense of the session, with fresh collections for each test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest_asyncio

from services.search.hashtag_index import HashtagIndex
from services.search.schema import Collections, ensure_collections
from services.search.tweet_index import TweetIndex
from services.search.typesense import Typesense
from services.search.user_index import UserIndex
from tests.stack.fixtures import TypesenseServer


class Indexes:
    def __init__(self, typesense: Typesense, collections: Collections) -> None:
        self.typesense = typesense
        self.collections = collections
        self.tweets = TweetIndex(typesense, collections.tweets)
        self.users = UserIndex(typesense, collections.users)
        self.hashtags = HashtagIndex(typesense, collections.hashtags, self.tweets)


@pytest_asyncio.fixture(loop_scope="session")
async def ts(typesense: TypesenseServer) -> AsyncIterator[Typesense]:
    client = Typesense(typesense.url, typesense.api_key)
    try:
        yield client
    finally:
        await client.close()


@pytest_asyncio.fixture(loop_scope="session")
async def indexes(ts: Typesense) -> AsyncIterator[Indexes]:
    """The three collections under a prefix no other test uses, dropped afterwards."""
    collections = Collections.with_prefix(f"t{uuid.uuid4().hex[:10]}_")
    await ensure_collections(ts, collections)
    try:
        yield Indexes(ts, collections)
    finally:
        for name in (collections.tweets, collections.users, collections.hashtags):
            await ts.drop_collection(name)
