"""Trends end to end through the REST gateway: a synthetic burst of a new hashtag by several users outranks a
hashtag those users have posted steadily for a while, although the steady one has far more tweets; and the
bad-input table of GET /v1/trends.

The trends service reads its window sizes from CHIRP_TRENDS_*; the defaults (1-minute buckets over an hour)
would need an hour of history, so the session stack runs it with windows of seconds (SESSION_SERVICE_ENV in
tests/stack/fixtures.py).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.client import Account, error_reason, eventually, register_and_login, violated_fields

pytestmark = pytest.mark.asyncio(loop_scope="session")



async def _trends(api: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    answer = await api.get("/v1/trends", params={"limit": 50, **params})
    assert answer.status_code == 200, answer.text
    trends: list[dict[str, Any]] = answer.json().get("trends", [])
    return trends


async def _post(api: httpx.AsyncClient, author: Account, text: str) -> None:
    answer = await api.post("/v1/tweets", headers=author.headers, json={"text": text})
    assert answer.status_code == 200, answer.text


async def test_a_burst_of_a_new_tag_outranks_a_steady_tag_with_more_tweets(api: httpx.AsyncClient) -> None:
    people = list(await asyncio.gather(*(register_and_login(api, "trend") for _ in range(4))))
    suffix = uuid.uuid4().hex[:8]
    # Named so that a tie would rank the steady tag first (ties go alphabetically).
    steady, burst = f"calm{suffix}", f"wow{suffix}"

    # Eight seconds of the four taking turns with #steady, twice a second: 16 tweets. While it is new, the
    # tag trends (which shows the tweets are counted at all); then it becomes its own baseline.
    seen_steady = False
    began = time.monotonic()
    for turn in range(16):
        await _post(api, people[turn % 4], f"still going #{steady.upper()} ({turn})")
        seen_steady = seen_steady or any(t["hashtag"] == steady for t in await _trends(api))
        await asyncio.sleep(max(0.0, began + (turn + 1) * 0.5 - time.monotonic()))
    assert seen_steady, "the steady tag never showed up in the trends while it was new"

    # Then the same four post a new tag at once: 4 tweets against #steady's 16.
    await asyncio.gather(*(_post(api, p, f"look at this #{burst}") for p in people))

    async def burst_counted() -> list[dict[str, Any]] | None:
        trends = await _trends(api)
        found = [t for t in trends if t["hashtag"] == burst]
        return trends if found and found[0]["author_count"] == "4" else None

    trends = await eventually(burst_counted, within=5.0)
    names = [t["hashtag"] for t in trends]
    top = trends[names.index(burst)]
    assert (top["tweet_count"], top["author_count"]) == ("4", "4")  # int64: JSON strings
    assert top["score"] > 0
    if steady in names:  # still listed, with more tweets, but below the burst
        assert names.index(burst) < names.index(steady), trends
        assert int(trends[names.index(steady)]["tweet_count"]) == 16
        assert trends[names.index(steady)]["score"] < top["score"]


async def test_one_account_repeating_a_tag_does_not_make_it_trend(api: httpx.AsyncClient) -> None:
    spammer, *others = await asyncio.gather(*(register_and_login(api, "spam") for _ in range(3)))
    suffix = uuid.uuid4().hex[:8]
    spam, real = f"spam{suffix}", f"real{suffix}"
    for n in range(10):
        await _post(api, spammer, f"#{spam} number {n}")
    # A tag three people use does trend: the control, so the spam tag's absence means something.
    await asyncio.gather(*(_post(api, p, f"#{real}") for p in [spammer, *others]))

    async def real_trends() -> list[str] | None:
        names = [t["hashtag"] for t in await _trends(api)]
        return names if real in names else None

    assert spam not in await eventually(real_trends, within=5.0)


async def test_trends_answer_anonymous_callers_with_the_window(api: httpx.AsyncClient) -> None:
    answer = await api.get("/v1/trends")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body.get("trends", [])) <= 10  # the default limit
    assert body["window_start"] < body["window_end"]  # RFC 3339 strings, both UTC ("Z")


@pytest.mark.parametrize(
    ("query", "reason", "fields"),
    [
        ({"limit": "51"}, "INVALID_ARGUMENT", ["limit"]),
        ({"limit": "-1"}, "INVALID_ARGUMENT", ["limit"]),
        ({"limit": "1000000"}, "INVALID_ARGUMENT", ["limit"]),
        ({"limit": "ten"}, "", []),  # refused by the gateway's transcoder before any service
        ({"limit": "99999999999"}, "", []),  # beyond int32
        ({"limit": "1.5"}, "", []),
    ],
)
async def test_bad_limits_are_400_with_a_reason(
    api: httpx.AsyncClient, query: dict[str, str], reason: str, fields: list[str]
) -> None:
    answer = await api.get("/v1/trends", params=query)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["message"]
    assert error_reason(body) == reason
    assert violated_fields(body) == fields


async def test_a_limit_is_honoured(api: httpx.AsyncClient) -> None:
    answer = await api.get("/v1/trends", params={"limit": 1})
    assert answer.status_code == 200, answer.text
    assert len(answer.json().get("trends", [])) <= 1
