"""The small session fixtures other tests build on answer as their clients expect."""

from __future__ import annotations

import httpx
import nats
import redis.asyncio as redis

from tests.stack.fixtures import TypesenseServer


async def test_nats_url_is_a_jetstream_server(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().account_info()
    finally:
        await nc.close()
    assert info.limits is not None


async def test_redis_url_is_a_valkey_server(redis_url: str) -> None:
    db = redis.from_url(redis_url)
    try:
        assert await db.ping()
    finally:
        await db.aclose()


async def test_typesense_takes_its_api_key(typesense: TypesenseServer) -> None:
    async with httpx.AsyncClient(base_url=typesense.url) as client:
        assert (await client.get("/collections", headers={"x-typesense-api-key": typesense.api_key})).json() == []
