"""The first slice, end to end through the REST gateway: register, log in, follow, post, read the home timeline.

Everything is real: the stack fixture runs NATS, Valkey, Typesense, both Envoys and every service process on
free ports. The tweet reaches the follower's timeline by push fan-out (tweet → outbox → JetStream → fanout
worker → Redis), and the timeline hydrates it from the tweet service through the Envoy mesh.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from tests.e2e.client import (
    PASSWORD,
    Account,
    error_reason,
    eventually,
    new_username,
    register,
    register_and_login,
    violated_fields,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_followers_home_timeline_receives_the_tweet_within_two_seconds(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "alice")
    bob = await register_and_login(api, "bob")

    followed = await api.post(f"/v1/users/{alice.username}:follow", headers=bob.headers)
    assert followed.status_code == 200, followed.text
    assert followed.json()["following"] is True

    posted = await api.post(
        "/v1/tweets", headers=alice.headers, json={"text": "hello, #chirp!", "request_id": new_username("r")}
    )
    assert posted.status_code == 200, posted.text
    tweet = posted.json()
    assert tweet["author"]["username"] == alice.username
    assert tweet["entities"]["hashtags"][0]["tag"] == "chirp"
    assert isinstance(tweet["id"], str) and int(tweet["id"]) > 0  # 64-bit ids are JSON strings

    started = time.monotonic()

    async def arrived() -> dict[str, Any] | None:
        page = (await api.get("/v1/timelines/home", headers=bob.headers)).json()
        return next((t for t in page["tweets"] if t["id"] == tweet["id"]), None)

    seen = await eventually(arrived, within=2.0)
    assert time.monotonic() - started < 2.0
    assert seen["text"] == "hello, #chirp!"
    assert seen["author"]["id"] == alice.user["id"]


async def test_home_timeline_pages_by_cursor_without_repeats(api: httpx.AsyncClient) -> None:
    author = await register_and_login(api, "pager")
    reader = await register_and_login(api, "reader")
    assert (await api.post(f"/v1/users/{author.username}:follow", headers=reader.headers)).status_code == 200
    posted = []
    for n in range(5):
        answer = await api.post("/v1/tweets", headers=author.headers, json={"text": f"tweet number {n}"})
        posted.append(answer.json()["id"])

    async def all_arrived() -> list[str] | None:
        page = (await api.get("/v1/timelines/home", headers=reader.headers, params={"page_size": 10})).json()
        ids = [t["id"] for t in page["tweets"]]
        return ids if set(posted) <= set(ids) else None

    await eventually(all_arrived, within=2.0)
    seen: list[str] = []
    token = ""
    while True:
        page = (
            await api.get("/v1/timelines/home", headers=reader.headers, params={"page_size": 2, "page_token": token})
        ).json()
        seen += [t["id"] for t in page["tweets"]]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == sorted(posted, key=int, reverse=True)


async def test_the_same_request_id_twice_creates_one_tweet(api: httpx.AsyncClient) -> None:
    author = await register_and_login(api, "idem")
    body = {"text": "only once", "request_id": "retry-me"}
    first = (await api.post("/v1/tweets", headers=author.headers, json=body)).json()
    second = (await api.post("/v1/tweets", headers=author.headers, json=body)).json()
    assert first["id"] == second["id"]
    listed = (await api.get(f"/v1/users/{author.username}/tweets")).json()
    assert [t["id"] for t in listed["tweets"]] == [first["id"]]


async def test_a_write_without_a_token_is_401_json(api: httpx.AsyncClient) -> None:
    answer = await api.post("/v1/tweets", json={"text": "who am I?"})
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["code"] == 16  # UNAUTHENTICATED


async def test_a_forged_token_is_401(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api, "forge")
    header, payload, signature = account.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "1"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    answer = await api.post(
        "/v1/tweets", headers={"Authorization": f"Bearer {header}.{forged}.{signature}"}, json={"text": "x"}
    )
    assert answer.status_code == 401


async def test_a_client_supplied_identity_header_is_ignored(api: httpx.AsyncClient) -> None:
    victim = await register_and_login(api, "victim")
    answer = await api.get("/v1/timelines/home", headers={"x-chirp-user-id": victim.user["id"]})
    assert answer.status_code == 401


async def test_an_invalid_username_is_400_naming_the_field(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/v1/accounts", json={"username": "no spaces", "email": "x@example.com", "password": PASSWORD}
    )
    assert answer.status_code == 400
    assert violated_fields(answer.json()) == ["username"]


async def test_a_reserved_username_is_400(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/v1/accounts", json={"username": "Admin", "email": "admin@example.com", "password": PASSWORD}
    )
    assert answer.status_code == 400
    assert error_reason(answer.json()) == "INVALID_USERNAME"
    assert violated_fields(answer.json()) == ["username"]


async def test_usernames_are_unique_case_insensitively(api: httpx.AsyncClient) -> None:
    username = new_username("dup")
    await register(api, username)
    answer = await api.post(
        "/v1/accounts", json={"username": username.upper(), "email": "other@example.com", "password": PASSWORD}
    )
    assert answer.status_code == 409
    assert error_reason(answer.json()) == "USERNAME_TAKEN"


async def test_a_wrong_password_is_401(api: httpx.AsyncClient) -> None:
    username = new_username("pw")
    await register(api, username)
    answer = await api.post("/v1/sessions", json={"login": username, "password": "not the password"})
    assert answer.status_code == 401
    assert error_reason(answer.json()) == "INVALID_CREDENTIALS"


async def test_an_unknown_tweet_is_404(api: httpx.AsyncClient) -> None:
    answer = await api.get("/v1/tweets/123")
    assert answer.status_code == 404
    assert error_reason(answer.json()) == "TWEET_NOT_FOUND"


async def test_a_malformed_json_body_is_400(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api, "json")
    answer = await api.post(
        "/v1/tweets", headers=account.headers | {"content-type": "application/json"}, content=b"{oops"
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["code"] == 3  # INVALID_ARGUMENT


async def test_an_over_long_tweet_is_400_with_the_reason(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api, "long")
    answer = await api.post("/v1/tweets", headers=account.headers, json={"text": "漢" * 141})
    assert answer.status_code == 400
    assert error_reason(answer.json()) == "TWEET_TOO_LONG"
    assert violated_fields(answer.json()) == ["text"]


async def test_jwks_publishes_the_key_that_signs_tokens(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api, "jwks")
    kid = json.loads(base64.urlsafe_b64decode(account.access_token.split(".")[0] + "=="))["kid"]
    keys = (await api.get("/.well-known/jwks.json")).json()["keys"]
    assert kid in {k["kid"] for k in keys}
    assert all(k["kty"] == "EC" and k["alg"] == "ES256" for k in keys)


async def test_a_reused_refresh_token_revokes_the_session(api: httpx.AsyncClient) -> None:
    account: Account = await register_and_login(api, "refresh")
    rotated = await api.post("/v1/sessions:refresh", json={"refresh_token": account.refresh_token})
    assert rotated.status_code == 200, rotated.text
    newer = rotated.json()["refresh_token"]

    reused = await api.post("/v1/sessions:refresh", json={"refresh_token": account.refresh_token})
    assert reused.status_code == 401
    assert error_reason(reused.json()) == "REFRESH_TOKEN_REUSED"
    # The theft is detected, so the whole family is dead, including the legitimately rotated token.
    after = await api.post("/v1/sessions:refresh", json={"refresh_token": newer})
    assert after.status_code == 401


async def test_healthz_is_ok_when_every_service_serves(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).status_code == 200


async def test_rpcs_of_later_issues_answer_unimplemented(api: httpx.AsyncClient) -> None:
    # The media service has its contract but no issue yet: its RPCs answer 501 with a JSON status.
    account = await register_and_login(api, "later")
    answer = await api.get("/v1/media/1", headers=account.headers)
    assert answer.status_code == 501
    assert answer.json()["code"] == 12  # UNIMPLEMENTED


async def test_ping_is_an_authenticated_no_op(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api, "ping")
    assert (await api.get("/v1/timelines:ping")).status_code == 401
    answer = await api.get("/v1/timelines:ping", headers=account.headers)
    assert answer.status_code == 200
    assert answer.json() == {}
