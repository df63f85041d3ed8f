"""Accounts end to end through the REST gateway: registration and log-in rules, brute-force protection,
refresh-token rotation, the JWKS, PATCH /v1/me with a field mask, profiles and their counters.

Every client of the session's stack reaches the edge from 127.0.0.1, one client address for the edge: these
tests keep their failed log-ins few (the address is locked after 30), and test the address lock itself at the
service (tests/auth/test_service.py).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import jwt
import nats
import nats.errors
import pytest
import pytest_asyncio
from chirp.user.v1 import user_events_pb2
from nats.js import api as js_api

from stack import Stack
from tests.e2e.client import (
    PASSWORD,
    Account,
    error_info,
    error_reason,
    eventually,
    new_username,
    register,
    register_and_login,
    violated_fields,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

Json = dict[str, Any]


def _account_body(username: str | None = None, **changes: Any) -> Json:
    username = username or new_username("acc")
    # The email is made up apart from the username, which some cases make invalid on purpose.
    body: Json = {"username": username, "email": f"{new_username('mail')}@example.com", "password": PASSWORD}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


async def _login(api: httpx.AsyncClient, login: str, password: str = PASSWORD) -> httpx.Response:
    return await api.post("/v1/sessions", json={"login": login, "password": password})


# --- bad input: every REST route of auth and user answers 4xx with a reason, never 5xx -----------------------

TAKEN = new_username("taken")
LONG = "x" * 600

# (name, method, path, json body or raw bytes, needs a token, expected status, expected reason or "", fields)
BAD_INPUT: list[tuple[str, str, str, Any, bool, int, str, list[str]]] = [
    ("account: no username", "POST", "/v1/accounts", _account_body(username=None) | {"username": ""}, False, 400,
     "INVALID_ARGUMENT", ["username"]),
    ("account: username with a space", "POST", "/v1/accounts", _account_body("no space"), False, 400,
     "INVALID_ARGUMENT", ["username"]),
    ("account: username of 16", "POST", "/v1/accounts", _account_body("a" * 16), False, 400, "INVALID_ARGUMENT",
     ["username"]),
    ("account: non-ASCII username", "POST", "/v1/accounts", _account_body("zoë"), False, 400, "INVALID_ARGUMENT",
     ["username"]),
    ("account: reserved username", "POST", "/v1/accounts", _account_body("Support"), False, 400, "INVALID_USERNAME",
     ["username"]),
    ("account: taken username in other case", "POST", "/v1/accounts",
     _account_body(TAKEN.upper(), email=f"other-{uuid.uuid4().hex[:8]}@example.com"), False, 409, "USERNAME_TAKEN",
     ["username"]),
    ("account: taken email in other case", "POST", "/v1/accounts",
     _account_body(new_username("x"), email=f"{TAKEN.upper()}@EXAMPLE.com"), False, 409, "EMAIL_TAKEN", ["email"]),
    ("account: no email", "POST", "/v1/accounts", _account_body() | {"email": ""}, False, 400, "INVALID_ARGUMENT",
     ["email"]),
    ("account: bad email", "POST", "/v1/accounts", _account_body(email="not-an-email"), False, 400,
     "INVALID_ARGUMENT", ["email"]),
    ("account: email with two @", "POST", "/v1/accounts", _account_body(email="a@b@example.com"), False, 400,
     "INVALID_ARGUMENT", ["email"]),
    ("account: no password", "POST", "/v1/accounts", _account_body(password=""), False, 400, "INVALID_ARGUMENT",
     ["password"]),
    ("account: short password", "POST", "/v1/accounts", _account_body(password="seven77"), False, 400,
     "INVALID_ARGUMENT", ["password"]),
    ("account: over-long password", "POST", "/v1/accounts", _account_body(password="p" * 129), False, 400,
     "INVALID_ARGUMENT", ["password"]),
    ("account: common password", "POST", "/v1/accounts", _account_body(password="iloveyou1"), False, 400,
     "WEAK_PASSWORD", ["password"]),
    ("account: password of one character", "POST", "/v1/accounts", _account_body(password="zzzzzzzzzz"), False, 400,
     "WEAK_PASSWORD", ["password"]),
    ("account: password is the username", "POST", "/v1/accounts",
     _account_body("samename", password="SameName2024"), False, 400, "WEAK_PASSWORD", ["password"]),
    ("account: over-long display name", "POST", "/v1/accounts", _account_body(display_name="d" * 51), False, 400,
     "INVALID_ARGUMENT", ["display_name"]),
    ("account: display name with a line break", "POST", "/v1/accounts", _account_body(display_name="a\nb"), False,
     400, "INVALID_DISPLAY_NAME", ["display_name"]),
    ("account: over-long request id", "POST", "/v1/accounts", _account_body(request_id="r" * 65), False, 400,
     "INVALID_ARGUMENT", ["request_id"]),
    ("account: number for username", "POST", "/v1/accounts", _account_body() | {"username": 12}, False, 400, "", []),
    ("account: malformed JSON", "POST", "/v1/accounts", b'{"username": ', False, 400, "", []),
    ("session: no login", "POST", "/v1/sessions", {"password": PASSWORD}, False, 400, "INVALID_ARGUMENT", ["login"]),
    ("session: no password", "POST", "/v1/sessions", {"login": TAKEN}, False, 400, "INVALID_ARGUMENT", ["password"]),
    ("session: over-long login", "POST", "/v1/sessions", {"login": LONG, "password": PASSWORD}, False, 400,
     "INVALID_ARGUMENT", ["login"]),
    ("session: unknown login", "POST", "/v1/sessions", {"login": new_username("ghost"), "password": PASSWORD}, False,
     401, "INVALID_CREDENTIALS", []),
    ("session: wrong password", "POST", "/v1/sessions", {"login": TAKEN, "password": "wrong password"}, False, 401,
     "INVALID_CREDENTIALS", []),
    ("session: malformed JSON", "POST", "/v1/sessions", b"[1, 2", False, 400, "", []),
    ("refresh: no token", "POST", "/v1/sessions:refresh", {}, False, 400, "INVALID_ARGUMENT", ["refresh_token"]),
    ("refresh: garbage token", "POST", "/v1/sessions:refresh", {"refresh_token": "garbage"}, False, 401,
     "INVALID_REFRESH_TOKEN", []),
    ("refresh: over-long token", "POST", "/v1/sessions:refresh", {"refresh_token": LONG}, False, 400,
     "INVALID_ARGUMENT", ["refresh_token"]),
    ("refresh: an access token instead", "POST", "/v1/sessions:refresh", {"refresh_token": "eyJ.eyJ.sig"}, False,
     401, "INVALID_REFRESH_TOKEN", []),
    ("revoke: no token", "POST", "/v1/sessions:revoke", {}, False, 400, "INVALID_ARGUMENT", ["refresh_token"]),
    ("revoke: over-long token", "POST", "/v1/sessions:revoke", {"refresh_token": LONG}, False, 400,
     "INVALID_ARGUMENT", ["refresh_token"]),
    ("me: no token", "GET", "/v1/me", None, False, 401, "AUTHENTICATION_REQUIRED", []),
    ("update me: no token", "PATCH", "/v1/me", {"bio": "hi"}, False, 401, "", []),
    ("update me: over-long bio", "PATCH", "/v1/me", {"bio": "b" * 161}, True, 400, "INVALID_ARGUMENT", ["user.bio"]),
    ("update me: over-long display name", "PATCH", "/v1/me", {"display_name": "d" * 51}, True, 400,
     "INVALID_ARGUMENT", ["user.display_name"]),
    ("update me: empty display name", "PATCH", "/v1/me", {"display_name": ""}, True, 400, "INVALID_ARGUMENT",
     ["user.display_name"]),
    ("update me: blank display name", "PATCH", "/v1/me", {"display_name": "   "}, True, 400, "INVALID_DISPLAY_NAME",
     ["user.display_name"]),
    ("update me: control character in bio", "PATCH", "/v1/me", {"bio": "a\u0000b"}, True, 400, "INVALID_BIO",
     ["user.bio"]),
    ("update me: string for a bool", "PATCH", "/v1/me", {"protected": "yes please"}, True, 400, "", []),
    ("update me: malformed JSON", "PATCH", "/v1/me", b"{bio", True, 400, "", []),
    ("user: unknown", "GET", f"/v1/users/{new_username('nobody')}", None, False, 404, "USER_NOT_FOUND", []),
    ("user: too long a name", "GET", f"/v1/users/{'u' * 16}", None, False, 400, "INVALID_ARGUMENT", ["username"]),
    ("user: a name with a dash", "GET", "/v1/users/no-dash", None, False, 400, "INVALID_ARGUMENT", ["username"]),
    # Percent-encoded bytes that are not UTF-8, in a path and in a query parameter (they used to be 500s).
    ("user: a name not UTF-8", "GET", "/v1/users/%FF%FE%FD", None, False, 400, "INVALID_UTF8", []),
    ("bookmarks: a page token not UTF-8", "GET", "/v1/bookmarks?page_token=%FF%FE", None, True, 400, "INVALID_UTF8",
     []),
]  # fmt: skip


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def taken(stack: Stack) -> Account:
    """The account whose username and email the table's collisions use, and whose token its calls send."""
    async with httpx.AsyncClient(base_url=stack.edge_url, timeout=10) as api:
        await register(api, TAKEN)
        answer = await _login(api, TAKEN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return Account(user=body["user"], access_token=body["access_token"], refresh_token=body["refresh_token"])


@pytest.mark.parametrize(
    ("method", "path", "body", "authenticated", "status", "reason", "fields"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
async def test_bad_input_is_a_4xx_with_a_reason(
    api: httpx.AsyncClient,
    taken: Account,
    method: str,
    path: str,
    body: Any,
    authenticated: bool,
    status: int,
    reason: str,
    fields: list[str],
) -> None:
    headers = taken.headers if authenticated else {}
    if isinstance(body, bytes):
        answer = await api.request(method, path, content=body, headers=headers | {"content-type": "application/json"})
    else:
        answer = await api.request(method, path, json=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()
    assert error["message"], error  # always says why
    if reason:
        assert error_reason(error) == reason, error
    assert violated_fields(error) == fields, error


async def test_an_unknown_update_mask_path_is_400_naming_it(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api, "mask")
    answer = await api.patch(
        "/v1/me", params={"update_mask": "bio,username"}, json={"bio": "hi"}, headers=account.headers
    )
    assert answer.status_code == 400, answer.text
    assert violated_fields(answer.json()) == ["update_mask"]
    assert '"username"' in answer.json()["message"]
    assert (await api.get("/v1/me", headers=account.headers)).json()["bio"] == ""  # nothing changed


async def test_revoking_an_unknown_token_is_fine(api: httpx.AsyncClient) -> None:
    answer = await api.post("/v1/sessions:revoke", json={"refresh_token": "never issued"})
    assert (answer.status_code, answer.json()) == (200, {})


# --- registration and log-in -----------------------------------------------------------------------------------


async def test_registration_answers_the_user_with_email_and_logs_in_by_either_ignoring_case(
    api: httpx.AsyncClient,
) -> None:
    username = new_username("Reg")
    answer = await api.post(
        "/v1/accounts", json=_account_body(username, email=f"{username}@example.com", display_name="  Reg Istered ")
    )
    assert answer.status_code == 200, answer.text
    user = answer.json()
    assert (user["username"], user["email"], user["display_name"]) == (
        username, f"{username}@example.com", "Reg Istered"
    )  # fmt: skip
    assert (user["follower_count"], user["following_count"], user["tweet_count"]) == (0, 0, 0)
    for login in (username.lower(), username.upper(), f"{username.upper()}@EXAMPLE.COM"):
        session = await _login(api, login)
        assert session.status_code == 200, session.text
        assert session.json()["user"]["id"] == user["id"]
        assert session.json()["token_type"] == "Bearer" and session.json()["expires_in"] == 900


async def test_a_retried_registration_with_its_request_id_answers_the_same_account(api: httpx.AsyncClient) -> None:
    body = _account_body(request_id=f"signup-{uuid.uuid4().hex}")
    first = await api.post("/v1/accounts", json=body)
    again = await api.post("/v1/accounts", json=body | {"password": "a different passphrase"})
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["id"] == again.json()["id"]
    assert (await _login(api, body["username"])).status_code == 200  # the first password stands
    different = await api.post("/v1/accounts", json=body | {"request_id": "another"})
    assert different.status_code == 409


async def test_the_registration_is_announced(api: httpx.AsyncClient, stack: Stack) -> None:
    user = (await api.post("/v1/accounts", json=_account_body())).json()
    event = await _event(
        stack, "chirp.user.created", user_events_pb2.UserCreated, lambda e: e.user.id == int(user["id"])
    )
    assert event.user.username == user["username"]
    assert not event.user.HasField("email")


# --- brute force --------------------------------------------------------------------------------------------------


async def test_repeated_failures_lock_the_account_with_429_and_a_retry_hint(api: httpx.AsyncClient) -> None:
    victim = await register_and_login(api, "victim")
    bystander = await register_and_login(api, "bystander")
    for _ in range(5):
        answer = await _login(api, victim.username, "wrong guess")
        assert (answer.status_code, error_reason(answer.json())) == (401, "INVALID_CREDENTIALS")
    for login in (victim.username, victim.user["email"].upper()):  # by username or email: one account
        locked = await _login(api, login, PASSWORD)  # refused even with the right password
        assert locked.status_code == 429, locked.text
        error = locked.json()
        assert error["code"] == 8  # RESOURCE_EXHAUSTED
        assert error_info(error)["reason"] == "TOO_MANY_ATTEMPTS"
        assert error_info(error)["domain"] == "chirp.auth"
        assert 1 <= int(error_info(error)["metadata"]["retry_after_seconds"]) <= 30
    assert (await _login(api, bystander.username)).status_code == 200  # other accounts are not locked


async def test_a_success_resets_the_account_count(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api, "reset")
    for _ in range(4):
        assert (await _login(api, account.username, "wrong guess")).status_code == 401
    assert (await _login(api, account.username)).status_code == 200
    assert (await _login(api, account.username, "wrong guess")).status_code == 401  # not locked: it started over


# --- sessions: refresh rotation, reuse, revoke, the JWKS -------------------------------------------------------


async def _refresh(api: httpx.AsyncClient, token: str) -> httpx.Response:
    return await api.post("/v1/sessions:refresh", json={"refresh_token": token})


async def test_refresh_rotates_and_reuse_revokes_the_session(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api, "rot")
    rotated = await _refresh(api, account.refresh_token)
    assert rotated.status_code == 200, rotated.text
    tokens = rotated.json()
    assert tokens["refresh_token"] != account.refresh_token
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    me = await api.get("/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == account.user["id"]

    reused = await _refresh(api, account.refresh_token)  # someone replays the old one
    assert (reused.status_code, error_reason(reused.json())) == (401, "REFRESH_TOKEN_REUSED")
    after = await _refresh(api, tokens["refresh_token"])  # the whole session is revoked
    assert (after.status_code, error_reason(after.json())) == (401, "INVALID_REFRESH_TOKEN")

    other = await _login(api, account.username)  # other sessions are not
    assert (await _refresh(api, other.json()["refresh_token"])).status_code == 200


async def test_revoke_logs_the_session_out(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api, "bye")
    second = (await _refresh(api, account.refresh_token)).json()["refresh_token"]
    assert (await api.post("/v1/sessions:revoke", json={"refresh_token": account.refresh_token})).status_code == 200
    answer = await _refresh(api, second)  # revoking any token of the session revokes all of it
    assert (answer.status_code, error_reason(answer.json())) == (401, "INVALID_REFRESH_TOKEN")


async def test_the_jwks_verifies_access_tokens(api: httpx.AsyncClient) -> None:
    account = await register_and_login(api, "jwk")
    jwks = (await api.get("/.well-known/jwks.json")).json()
    assert all((k["kty"], k["crv"], k["alg"], k["use"]) == ("EC", "P-256", "ES256", "sig") for k in jwks["keys"])
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(account.access_token)["kid"]]
    claims = jwt.decode(account.access_token, key, algorithms=["ES256"], issuer="chirp")
    assert claims["sub"] == account.user["id"]
    assert claims["exp"] - claims["iat"] == 900


# --- profiles ------------------------------------------------------------------------------------------------------


async def test_update_me_round_trip(api: httpx.AsyncClient, stack: Stack) -> None:
    account = await register_and_login(api, "patch")
    answer = await api.patch(
        "/v1/me", json={"display_name": " New Name ", "bio": "line one\nline two", "protected": True},
        headers=account.headers,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    updated = answer.json()
    assert (updated["display_name"], updated["bio"], updated["protected"], updated["discoverable"]) == (
        "New Name", "line one\nline two", True, True
    )  # fmt: skip
    assert updated["email"] == account.user["email"]
    me = (await api.get("/v1/me", headers=account.headers)).json()
    assert {k: me[k] for k in ("display_name", "bio", "protected")} == {
        "display_name": "New Name", "bio": "line one\nline two", "protected": True
    }  # fmt: skip
    public = (await api.get(f"/v1/users/{account.username}")).json()
    assert (public["display_name"], public["protected"]) == ("New Name", True)
    assert "email" not in public and "relationship" not in public

    # A mask changes exactly its fields: sent-but-unlisted is ignored, listed-but-unsent is reset.
    masked = await api.patch(
        "/v1/me", params={"update_mask": "bio,protected"}, json={"display_name": "Ignored"}, headers=account.headers
    )
    assert masked.status_code == 200, masked.text
    assert (masked.json()["display_name"], masked.json()["bio"], masked.json()["protected"]) == ("New Name", "", False)

    # An empty body changes nothing.
    same = await api.patch("/v1/me", json={}, headers=account.headers)
    assert same.status_code == 200 and same.json() == masked.json()

    event = await _event(
        stack,
        "chirp.user.updated",
        user_events_pb2.UserUpdated,
        lambda e: e.user.id == int(account.user["id"]) and list(e.update_mask.paths) == ["bio", "protected"],
    )
    assert (event.user.bio, event.user.protected) == ("", False)


async def test_a_profile_shows_the_viewers_relationship(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "alice")
    bob = await register_and_login(api, "bob")
    assert (await api.post(f"/v1/users/{alice.username}:follow", headers=bob.headers)).status_code == 200
    seen_by_bob = (await api.get(f"/v1/users/{alice.username.upper()}", headers=bob.headers)).json()
    assert seen_by_bob["username"] == alice.username
    assert seen_by_bob["relationship"]["following"] is True
    assert seen_by_bob["relationship"]["followed_by"] is False
    seen_by_alice = (await api.get(f"/v1/users/{bob.username}", headers=alice.headers)).json()
    assert seen_by_alice["relationship"]["followed_by"] is True
    own = (await api.get(f"/v1/users/{alice.username}", headers=alice.headers)).json()
    assert "relationship" not in own


async def test_a_blocked_viewer_still_sees_the_profile_and_is_told(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "blocker")
    bob = await register_and_login(api, "blocked")
    assert (await api.post(f"/v1/users/{bob.username}:block", headers=alice.headers)).status_code == 200
    answer = await api.get(f"/v1/users/{alice.username}", headers=bob.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["relationship"]["blocked_by"] is True


# --- counters ---------------------------------------------------------------------------------------------------------


async def _counts(api: httpx.AsyncClient, username: str) -> tuple[int, int, int]:
    user = (await api.get(f"/v1/users/{username}")).json()
    return user["follower_count"], user["following_count"], user["tweet_count"]


async def _until_counts(api: httpx.AsyncClient, username: str, expected: tuple[int, int, int]) -> None:
    async def check() -> bool | None:
        return True if await _counts(api, username) == expected else None

    try:
        await eventually(check, within=5.0)
    except AssertionError:
        raise AssertionError(f"@{username} counts {await _counts(api, username)}, expected {expected}") from None


async def test_counters_follow_follows_unfollows_and_tweets(api: httpx.AsyncClient) -> None:
    star = await register_and_login(api, "star")
    fans = [await register_and_login(api, "fan") for _ in range(3)]
    await asyncio.gather(*(api.post(f"/v1/users/{star.username}:follow", headers=f.headers) for f in fans))
    await api.post(f"/v1/users/{star.username}:follow", headers=fans[0].headers)  # again: no change
    await api.post(f"/v1/users/{fans[0].username}:follow", headers=star.headers)
    await _until_counts(api, star.username, (3, 1, 0))
    await _until_counts(api, fans[0].username, (1, 1, 0))

    await api.post(f"/v1/users/{star.username}:unfollow", headers=fans[1].headers)
    await api.post(f"/v1/users/{star.username}:unfollow", headers=fans[1].headers)  # again: no change
    for n in range(2):
        posted = await api.post("/v1/tweets", headers=star.headers, json={"text": f"counted {n}"})
        assert posted.status_code == 200, posted.text
    await _until_counts(api, star.username, (2, 1, 2))
    await _until_counts(api, fans[1].username, (0, 0, 0))


# --- events -----------------------------------------------------------------------------------------------------------


async def _event(stack: Stack, subject: str, message_type: Any, matches: Any, within: float = 5.0) -> Any:
    """The first event on `subject` in the stack's JetStream that `matches`; fails after `within` seconds."""
    nc = await nats.connect(stack.nats_url)
    try:
        sub = await nc.jetstream().subscribe(subject, ordered_consumer=True, deliver_policy=js_api.DeliverPolicy.ALL)
        deadline = asyncio.get_running_loop().time() + within
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                msg = await sub.next_msg(timeout=left)
            except nats.errors.TimeoutError:
                break
            event = message_type.FromString(msg.data)
            if matches(event):
                return event
        raise AssertionError(f"no matching {subject} event within {within}s")
    finally:
        await nc.close()
