"""Direct messages end to end through the REST gateway: direct and group conversations, the access rules
(blocks either way, the "people I follow" setting, non-participants), paging, idempotent sends, the
`chirp.dm.message_sent` event, and a bad-input table for every dm route (4xx with a reason, never 5xx).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import httpx
import nats
import pytest
from chirp.dm.v1 import dm_events_pb2

from stack import Stack
from tests.e2e.client import Account, error_info, error_reason, eventually, new_username, register_and_login
from tests.e2e.client import violated_fields as fields_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _users(api: httpx.AsyncClient, n: int, prefix: str = "dm") -> list[Account]:
    return list(await asyncio.gather(*(register_and_login(api, prefix) for _ in range(n))))


async def _start(api: httpx.AsyncClient, me: Account, *others: Account | str, **body: Any) -> httpx.Response:
    names = [o if isinstance(o, str) else o.username for o in others]
    return await api.post("/v1/conversations", headers=me.headers, json={"participant_usernames": names, **body})


async def _started(api: httpx.AsyncClient, me: Account, *others: Account | str, **body: Any) -> dict[str, Any]:
    answer = await _start(api, me, *others, **body)
    assert answer.status_code == 200, answer.text
    conversation: dict[str, Any] = answer.json()
    return conversation


async def _send(api: httpx.AsyncClient, me: Account, conversation_id: str, text: str, **body: Any) -> httpx.Response:
    return await api.post(
        f"/v1/conversations/{conversation_id}/messages", headers=me.headers, json={"text": text, **body}
    )


async def _sent(api: httpx.AsyncClient, me: Account, conversation_id: str, text: str, **body: Any) -> dict[str, Any]:
    answer = await _send(api, me, conversation_id, text, **body)
    assert answer.status_code == 200, answer.text
    message: dict[str, Any] = answer.json()
    return message


async def _texts(api: httpx.AsyncClient, me: Account, conversation_id: str, *, page_size: int = 100) -> list[str]:
    """Every message text of the conversation as `me` sees it, newest first, following the page tokens."""
    texts: list[str] = []
    token = ""
    for _ in range(50):
        answer = await api.get(
            f"/v1/conversations/{conversation_id}/messages",
            headers=me.headers,
            params={"page_size": page_size, "page_token": token},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        texts += [m["text"] for m in body.get("messages", [])]
        token = body.get("next_page_token", "")
        if not token:
            return texts
    raise AssertionError("the message list never ended")


async def _conversation_ids(api: httpx.AsyncClient, me: Account, *, page_size: int = 100) -> list[str]:
    ids: list[str] = []
    token = ""
    for _ in range(50):
        answer = await api.get(
            "/v1/conversations", headers=me.headers, params={"page_size": page_size, "page_token": token}
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        ids += [c["id"] for c in body.get("conversations", [])]
        token = body.get("next_page_token", "")
        if not token:
            assert len(ids) == len(set(ids)), f"a conversation was listed twice: {ids}"
            return ids
    raise AssertionError("the conversation list never ended")


async def _act(api: httpx.AsyncClient, who: Account, action: str, whom: Account) -> None:
    answer = await api.post(f"/v1/users/{whom.username}:{action}", headers=who.headers)
    assert answer.status_code == 200, answer.text


async def _set_policy(api: httpx.AsyncClient, who: Account, policy: str) -> dict[str, Any]:
    answer = await api.patch("/v1/dm_settings", headers=who.headers, json={"allow_messages_from": policy})
    assert answer.status_code == 200, answer.text
    settings: dict[str, Any] = answer.json()
    return settings


def _refused(answer: httpx.Response, status: int, reason: str, username: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["message"]
    assert error_reason(body) == reason, body
    if username is not None:
        assert error_info(body).get("metadata", {}).get("username") == username, body


# -- conversations -------------------------------------------------------------------------------------------


async def test_a_direct_conversation_is_unique_per_pair(api: httpx.AsyncClient) -> None:
    alice, bob = await _users(api, 2)
    first = await _started(api, alice, bob)
    assert first["type"] == "CONVERSATION_TYPE_DIRECT"
    assert [p["username"] for p in first["participants"]] == [alice.username, bob.username]
    assert first["participants"][0]["id"] == alice.user["id"]
    assert "last_message" not in first
    assert first["created_at"] == first["updated_at"]
    # Again, from either side and in any case: the same conversation, unchanged.
    again = await _started(api, alice, bob)
    from_bob = await _started(api, bob, alice.username.upper())
    assert again == first
    assert from_bob == first
    # The same user named twice (ignoring case) is one user: still the direct conversation.
    twice = await _started(api, alice, bob.username, bob.username.upper())
    assert twice["id"] == first["id"]


async def test_a_group_keeps_the_order_named_and_a_retry_does_not_make_another(api: httpx.AsyncClient) -> None:
    alice, bob, carol = await _users(api, 3)
    request_id = new_username("req")
    group = await _started(api, alice, carol, bob, request_id=request_id)
    assert group["type"] == "CONVERSATION_TYPE_GROUP"
    assert [p["username"] for p in group["participants"]] == [alice.username, carol.username, bob.username]
    retried = await _started(api, alice, carol, bob, request_id=request_id)
    assert retried["id"] == group["id"]
    another = await _started(api, alice, carol, bob)  # the same people may share several groups
    assert another["id"] != group["id"]
    for member in (alice, bob, carol):
        assert set(await _conversation_ids(api, member)) == {group["id"], another["id"]}


async def test_conversations_are_listed_most_recently_active_first(api: httpx.AsyncClient) -> None:
    me, a, b, c = await _users(api, 4)
    ids = [(await _started(api, me, other))["id"] for other in (a, b, c)]
    assert await _conversation_ids(api, me) == ids[::-1]
    await _sent(api, a, ids[0], "bump the oldest")
    assert await _conversation_ids(api, me) == [ids[0], ids[2], ids[1]]
    assert await _conversation_ids(api, me, page_size=2) == [ids[0], ids[2], ids[1]]  # across pages
    answer = await api.get("/v1/conversations", headers=me.headers, params={"page_size": 1})
    top = answer.json()["conversations"][0]
    assert top["last_message"]["text"] == "bump the oldest"
    assert top["last_message"]["sender_id"] == a.user["id"]
    assert top["updated_at"] > top["created_at"]
    assert answer.json()["next_page_token"]
    assert await _conversation_ids(api, a) == [ids[0]]  # only one's own


# -- messages ------------------------------------------------------------------------------------------------


async def test_messages_page_newest_first(api: httpx.AsyncClient) -> None:
    alice, bob = await _users(api, 2)
    conversation = (await _started(api, alice, bob))["id"]
    for n in range(7):
        await _sent(api, alice if n % 2 == 0 else bob, conversation, f"message {n}")
    expected = [f"message {n}" for n in reversed(range(7))]
    assert await _texts(api, alice, conversation) == expected
    assert await _texts(api, bob, conversation, page_size=3) == expected
    first_page = await api.get(
        f"/v1/conversations/{conversation}/messages", headers=bob.headers, params={"page_size": 3}
    )
    body = first_page.json()
    assert [m["text"] for m in body["messages"]] == expected[:3]
    assert body["next_page_token"]
    message = body["messages"][0]
    assert message["conversation_id"] == conversation and message["sender_id"] == alice.user["id"]
    assert int(message["id"]) > int(body["messages"][1]["id"])


async def test_a_retried_send_sends_once(api: httpx.AsyncClient) -> None:
    alice, bob = await _users(api, 2)
    conversation = (await _started(api, alice, bob))["id"]
    request_id = new_username("send")
    first = await _sent(api, alice, conversation, "only once", request_id=request_id)
    again = await _sent(api, alice, conversation, "only once", request_id=request_id)
    assert again == first
    racing = await asyncio.gather(
        *(_sent(api, alice, conversation, "racing", request_id=f"{request_id}-race") for _ in range(5))
    )
    assert len({m["id"] for m in racing}) == 1
    assert await _texts(api, bob, conversation) == ["racing", "only once"]
    # The id is the sender's: someone else's request with the same id is their own message.
    from_bob = await _sent(api, bob, conversation, "mine", request_id=request_id)
    assert from_bob["id"] != first["id"]


async def test_a_new_message_publishes_message_sent(api: httpx.AsyncClient, stack: Stack) -> None:
    alice, bob, carol = await _users(api, 3)
    group = (await _started(api, alice, bob, carol))["id"]
    seen: list[dm_events_pb2.MessageSent] = []

    async def on_message(msg: Any) -> None:
        event = dm_events_pb2.MessageSent.FromString(msg.data)
        if str(event.conversation_id) == group:
            seen.append(event)

    nc = await nats.connect(stack.nats_url)
    try:
        await nc.subscribe("chirp.dm.message_sent", cb=on_message)
        await nc.flush()
        message = await _sent(api, bob, group, "hello all", request_id="once")
        await _sent(api, bob, group, "hello all", request_id="once")  # a retry publishes nothing
        await eventually(lambda: _true_when(len(seen) >= 1), within=15.0)
        await asyncio.sleep(0.3)  # a duplicate would arrive by now
    finally:
        await nc.close()
    assert len(seen) == 1
    event = seen[0]
    assert str(event.message_id) == message["id"]
    assert str(event.sender_id) == bob.user["id"]
    assert sorted(str(i) for i in event.recipient_ids) == sorted([alice.user["id"], carol.user["id"]])


# -- access rules --------------------------------------------------------------------------------------------


async def test_non_participants_cannot_tell_a_conversation_exists(api: httpx.AsyncClient) -> None:
    alice, bob, eve = await _users(api, 3)
    conversation = (await _started(api, alice, bob))["id"]
    await _sent(api, alice, conversation, "private")
    for answer in (
        await _send(api, eve, conversation, "let me in"),
        await api.get(f"/v1/conversations/{conversation}/messages", headers=eve.headers),
    ):
        _refused(answer, 404, "CONVERSATION_NOT_FOUND")
    assert await _conversation_ids(api, eve) == []
    # Exactly what a conversation that does not exist answers.
    missing = await api.get(f"/v1/conversations/{int(conversation) + 1}/messages", headers=eve.headers)
    _refused(missing, 404, "CONVERSATION_NOT_FOUND")
    assert await _texts(api, bob, conversation) == ["private"]


async def test_blocks_either_way_stop_new_conversations_and_messages(api: httpx.AsyncClient) -> None:
    alice, bob, carol = await _users(api, 3)
    conversation = (await _started(api, alice, bob))["id"]
    await _act(api, bob, "block", alice)
    for sender, recipient in ((alice, bob), (bob, alice)):
        _refused(await _send(api, sender, conversation, "hi"), 403, "BLOCKED", recipient.username)
    _refused(await _start(api, alice, bob), 403, "BLOCKED", bob.username)
    _refused(await _start(api, bob, alice), 403, "BLOCKED", alice.username)
    # In a group, the first offending user is named.
    _refused(await _start(api, alice, carol, bob), 403, "BLOCKED", bob.username)
    # History stays readable; unblocking lets them talk again.
    assert await _texts(api, alice, conversation) == []
    await _act(api, bob, "unblock", alice)
    await _sent(api, alice, conversation, "friends again?")
    assert await _texts(api, bob, conversation) == ["friends again?"]


async def test_following_only_lets_in_just_the_people_one_follows(api: httpx.AsyncClient) -> None:
    picky, friend, stranger, other = await _users(api, 4)
    settings = await api.get("/v1/dm_settings", headers=picky.headers)
    assert settings.json() == {"allow_messages_from": "MESSAGE_POLICY_EVERYONE"}  # the default
    assert await _set_policy(api, picky, "MESSAGE_POLICY_FOLLOWING") == {
        "allow_messages_from": "MESSAGE_POLICY_FOLLOWING"
    }
    await _act(api, picky, "follow", friend)
    await _act(api, stranger, "follow", picky)  # being followed by picky is what counts, not following picky

    _refused(await _start(api, stranger, picky), 403, "MESSAGES_NOT_ALLOWED", picky.username)
    _refused(await _start(api, stranger, other, picky), 403, "MESSAGES_NOT_ALLOWED", picky.username)
    direct = (await _started(api, friend, picky))["id"]
    await _sent(api, friend, direct, "hi picky")

    # Once picky unfollows, the friend may not write on — until picky writes back (a reply accepts).
    await _act(api, picky, "unfollow", friend)
    _refused(await _send(api, friend, direct, "still there?"), 403, "MESSAGES_NOT_ALLOWED", picky.username)
    await _sent(api, picky, direct, "yes")
    await _sent(api, friend, direct, "good")
    assert await _texts(api, picky, direct) == ["good", "yes", "hi picky"]

    # A conversation picky started is accepted by picky: the stranger may answer it.
    started = (await _started(api, picky, stranger))["id"]
    await _sent(api, stranger, started, "thanks for writing")

    # Groups: anyone in one may send to it, whatever the settings.
    group = (await _started(api, picky, stranger, other))["id"]
    await _sent(api, other, group, "hello group")

    # Back to everyone.
    assert (await _set_policy(api, picky, "MESSAGE_POLICY_EVERYONE"))["allow_messages_from"] == (
        "MESSAGE_POLICY_EVERYONE"
    )
    await _started(api, other, picky)


async def test_in_a_group_the_messages_of_users_one_blocks_are_left_out(api: httpx.AsyncClient) -> None:
    alice, bob, carol = await _users(api, 3)
    group = (await _started(api, alice, bob, carol))["id"]
    await _sent(api, alice, group, "from alice")
    await _sent(api, carol, group, "from carol")
    await _act(api, alice, "block", carol)
    assert await _texts(api, alice, group) == ["from alice"]
    assert await _texts(api, bob, group) == ["from carol", "from alice"]
    listed = (await api.get("/v1/conversations", headers=alice.headers)).json()["conversations"]
    assert listed[0]["last_message"]["text"] == "from alice"
    # Carol may still send to the group (the group's other members see it).
    await _sent(api, carol, group, "still here")
    assert await _texts(api, bob, group) == ["still here", "from carol", "from alice"]
    assert await _texts(api, alice, group, page_size=1) == ["from alice"]


# -- bad input -----------------------------------------------------------------------------------------------

_shared: dict[str, Any] = {}


async def _fixtures(api: httpx.AsyncClient) -> tuple[Account, Account, str]:
    """One pair and conversation for the many bad-input cases: registering is deliberately slow (argon2id)."""
    if not _shared:
        me, other = await _users(api, 2, "dmbad")
        _shared["me"], _shared["other"] = me, other
        _shared["conversation"] = (await _started(api, me, other))["id"]
    return _shared["me"], _shared["other"], _shared["conversation"]


_TOO_MANY = [f"user{n}" for n in range(50)]


@pytest.mark.parametrize(
    ("body", "status", "reason", "fields"),
    [
        ({}, 400, "INVALID_ARGUMENT", ["participant_usernames"]),
        ({"participant_usernames": []}, 400, "INVALID_ARGUMENT", ["participant_usernames"]),
        ({"participant_usernames": _TOO_MANY}, 400, "INVALID_ARGUMENT", ["participant_usernames"]),
        ({"participant_usernames": ["not a name!"]}, 400, "INVALID_ARGUMENT", ["participant_usernames[0]"]),
        ({"participant_usernames": ["x" * 16]}, 400, "INVALID_ARGUMENT", ["participant_usernames[0]"]),
        ({"participant_usernames": ["same", "same"]}, 400, "INVALID_ARGUMENT", ["participant_usernames"]),
        ({"participant_usernames": ["someone"], "request_id": "r" * 65}, 400, "INVALID_ARGUMENT", ["request_id"]),
        ({"participant_usernames": {"a": 1}}, 400, "", []),  # refused by the gateway's transcoder
        ({"participant_usernames": [7]}, 400, "", []),
        ({"participant_usernames": ["$me"]}, 400, "CANNOT_MESSAGE_SELF", ["participant_usernames"]),
        ({"participant_usernames": ["$other", "$me"]}, 400, "CANNOT_MESSAGE_SELF", ["participant_usernames"]),
        ({"participant_usernames": ["$ghost"]}, 404, "USER_NOT_FOUND", []),
        ({"participant_usernames": ["$other", "$ghost"]}, 404, "USER_NOT_FOUND", []),
    ],
)
async def test_bad_conversations(
    api: httpx.AsyncClient, body: dict[str, Any], status: int, reason: str, fields: list[str]
) -> None:
    me, other, _ = await _fixtures(api)
    ghost = new_username("ghost")
    names = {"$me": me.username, "$other": other.username, "$ghost": ghost}
    if isinstance(body.get("participant_usernames"), list):
        body = {**body, "participant_usernames": [names.get(n, n) for n in body["participant_usernames"]]}
    answer = await api.post("/v1/conversations", headers=me.headers, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["message"]
    assert error_reason(answer.json()) == reason
    assert fields_of(answer.json()) == fields
    if reason == "USER_NOT_FOUND":
        assert error_info(answer.json())["metadata"]["username"] == ghost


async def test_a_malformed_body_is_400(api: httpx.AsyncClient) -> None:
    me, _, conversation = await _fixtures(api)
    headers = me.headers | {"content-type": "application/json"}
    for path in ("/v1/conversations", f"/v1/conversations/{conversation}/messages"):
        answer = await api.post(path, headers=headers, content=b"{oops")
        assert answer.status_code == 400, answer.text


@pytest.mark.parametrize(
    ("conversation", "body", "status", "reason", "fields"),
    [
        # Empty text breaks two rules (min_len and "not only whitespace"): one violation each.
        ("$ours", {"text": ""}, 400, "INVALID_ARGUMENT", ["text", "text"]),
        ("$ours", {}, 400, "INVALID_ARGUMENT", ["text", "text"]),
        ("$ours", {"text": " \n\t "}, 400, "INVALID_ARGUMENT", ["text"]),
        ("$ours", {"text": "x" * 10_001}, 400, "INVALID_ARGUMENT", ["text"]),
        ("$ours", {"text": "hi", "request_id": "r" * 65}, 400, "INVALID_ARGUMENT", ["request_id"]),
        ("$ours", {"text": 5}, 400, "", []),
        ("123", {"text": "hi"}, 404, "CONVERSATION_NOT_FOUND", []),
        ("0", {"text": "hi"}, 400, "INVALID_ARGUMENT", ["conversation_id"]),
        ("-4", {"text": "hi"}, 400, "INVALID_ARGUMENT", ["conversation_id"]),
        ("abc", {"text": "hi"}, 400, "", []),
        ("99999999999999999999", {"text": "hi"}, 400, "", []),  # beyond int64
    ],
)
async def test_bad_messages(
    api: httpx.AsyncClient, conversation: str, body: dict[str, Any], status: int, reason: str, fields: list[str]
) -> None:
    me, _, ours = await _fixtures(api)
    conversation_id = ours if conversation == "$ours" else conversation
    answer = await api.post(f"/v1/conversations/{conversation_id}/messages", headers=me.headers, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["message"]
    assert error_reason(answer.json()) == reason
    assert fields_of(answer.json()) == fields


async def test_a_longest_message_is_fine(api: httpx.AsyncClient) -> None:
    me, other, conversation = await _fixtures(api)
    text = "é" * 10_000  # characters, not bytes
    await _sent(api, me, conversation, text)
    assert (await _texts(api, other, conversation, page_size=1))[0] == text


_BAD_PAGES = [
    ({"page_size": "101"}, "INVALID_ARGUMENT", ["page_size"]),
    ({"page_size": "1000000"}, "INVALID_ARGUMENT", ["page_size"]),
    ({"page_size": "-1"}, "INVALID_ARGUMENT", ["page_size"]),
    ({"page_size": "ten"}, "", []),
    ({"page_token": "not-ours"}, "INVALID_PAGE_TOKEN", ["page_token"]),
    ({"page_token": "9" * 30}, "INVALID_PAGE_TOKEN", ["page_token"]),
    ({"page_token": "²"}, "INVALID_PAGE_TOKEN", ["page_token"]),
    ({"page_token": "x" * 600}, "INVALID_ARGUMENT", ["page_token"]),
]


@pytest.mark.parametrize("path", ["/v1/conversations", "/v1/conversations/$ours/messages"])
@pytest.mark.parametrize(("query", "reason", "fields"), _BAD_PAGES)
async def test_bad_pages(
    api: httpx.AsyncClient, path: str, query: dict[str, str], reason: str, fields: list[str]
) -> None:
    me, _, ours = await _fixtures(api)
    answer = await api.get(path.replace("$ours", ours), headers=me.headers, params=query)
    assert answer.status_code == 400, answer.text
    assert error_reason(answer.json()) == reason
    assert fields_of(answer.json()) == fields


@pytest.mark.parametrize(("conversation", "status"), [("0", 400), ("abc", 400), ("123", 404)])
async def test_bad_conversation_ids_on_reads(api: httpx.AsyncClient, conversation: str, status: int) -> None:
    me, _, _ = await _fixtures(api)
    answer = await api.get(f"/v1/conversations/{conversation}/messages", headers=me.headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["message"]


@pytest.mark.parametrize(
    ("query", "body", "reason", "fields"),
    [
        ({}, {"allow_messages_from": "MESSAGE_POLICY_SOMETIMES"}, "", []),
        ({}, {"allow_messages_from": 7}, "INVALID_ARGUMENT", ["settings.allow_messages_from"]),
        ({}, {"allow_messages_from": []}, "", []),
        ({"update_mask": "colour"}, {"allow_messages_from": "MESSAGE_POLICY_FOLLOWING"}, "INVALID_ARGUMENT",
         ["update_mask"]),
    ],
)  # fmt: skip
async def test_bad_settings(
    api: httpx.AsyncClient, query: dict[str, str], body: Any, reason: str, fields: list[str]
) -> None:
    me, _, _ = await _fixtures(api)
    answer = await api.patch("/v1/dm_settings", headers=me.headers, params=query, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"]
    assert error_reason(answer.json()) == reason
    assert fields_of(answer.json()) == fields
    assert (await api.get("/v1/dm_settings", headers=me.headers)).json() == {
        "allow_messages_from": "MESSAGE_POLICY_EVERYONE"
    }


async def test_a_settings_mask_resets_a_listed_field_left_out(api: httpx.AsyncClient) -> None:
    (me,) = await _users(api, 1)
    await _set_policy(api, me, "MESSAGE_POLICY_FOLLOWING")
    unchanged = await api.patch("/v1/dm_settings", headers=me.headers, json={})
    assert unchanged.json() == {"allow_messages_from": "MESSAGE_POLICY_FOLLOWING"}
    reset = await api.patch(
        "/v1/dm_settings", headers=me.headers, params={"update_mask": "allow_messages_from"}, json={}
    )
    assert reset.status_code == 200, reset.text
    assert reset.json() == {"allow_messages_from": "MESSAGE_POLICY_EVERYONE"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/conversations"),
        ("GET", "/v1/conversations"),
        ("POST", "/v1/conversations/123/messages"),
        ("GET", "/v1/conversations/123/messages"),
        ("GET", "/v1/dm_settings"),
        ("PATCH", "/v1/dm_settings"),
    ],
)
async def test_every_dm_route_needs_a_token(api: httpx.AsyncClient, method: str, path: str) -> None:
    body: dict[str, Any] | None = {} if method in ("POST", "PATCH") else None
    answer = await api.request(method, path, json=body)
    assert answer.status_code == 401, answer.text


def _true_when(condition: bool) -> Awaitable[bool | None]:
    async def check() -> bool | None:
        return True if condition else None

    return check()
