"""The social graph end to end through the REST gateway: follows, follow requests, blocks, mutes, the lists,
suggestions, the events on JetStream, and a bad-input table for every graph route.

Protected and non-discoverable accounts are set with `PATCH /v1/me`, the user service's UpdateMe; until it
lands those tests skip with that reason instead of passing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import nats
import pytest
import pytest_asyncio
from chirp.graph.v1 import graph_events_pb2

from stack import Stack
from tests.e2e.client import Account, error_reason, eventually, new_username, register_and_login

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _users(api: httpx.AsyncClient, n: int, prefix: str) -> list[Account]:
    return list(await asyncio.gather(*(register_and_login(api, prefix) for _ in range(n))))


async def _act(api: httpx.AsyncClient, who: Account, action: str, whom: Account) -> dict[str, Any]:
    """POST /v1/users/{whom}:{action} as `who`; the relationship it answers."""
    answer = await api.post(f"/v1/users/{whom.username}:{action}", headers=who.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _flags(relationship: dict[str, Any]) -> set[str]:
    """The flags set in a relationship (JSON leaves false booleans out)."""
    return {name for name, value in relationship.items() if value is True}


async def _true_when(condition: bool) -> bool | None:
    return True if condition else None


async def _update_me(api: httpx.AsyncClient, account: Account, **fields: Any) -> None:
    answer = await api.patch("/v1/me", headers=account.headers, json=fields)
    if answer.status_code == 501:
        pytest.skip("needs PATCH /v1/me (the user service's UpdateMe), not implemented yet")
    assert answer.status_code == 200, answer.text


async def _list(api: httpx.AsyncClient, path: str, viewer: Account | None, *, page_size: int = 100) -> list[str]:
    """Every username of a paged list, following next_page_token to the end; fails on a repeat."""
    names: list[str] = []
    token = ""
    headers = viewer.headers if viewer else {}
    for _ in range(100):
        answer = await api.get(path, headers=headers, params={"page_size": page_size, "page_token": token})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        names += [u["username"] for u in body.get("users", [])]
        token = body.get("next_page_token", "")
        if not token:
            assert len(names) == len(set(names)), f"a list repeated users: {names}"
            return names
    raise AssertionError("the list never ended")


async def test_follow_and_unfollow_are_idempotent(api: httpx.AsyncClient) -> None:
    alice, bob = await _users(api, 2, "idem")
    for _ in range(2):
        assert _flags(await _act(api, alice, "follow", bob)) == {"following"}
    assert await _list(api, f"/v1/users/{bob.username}/followers", None) == [alice.username]
    assert await _list(api, f"/v1/users/{alice.username}/following", None) == [bob.username]
    profile = (await api.get(f"/v1/users/{bob.username}", headers=alice.headers)).json()
    assert _flags(profile["relationship"]) == {"following"}
    for _ in range(2):
        assert _flags(await _act(api, alice, "unfollow", bob)) == set()
    assert await _list(api, f"/v1/users/{bob.username}/followers", None) == []


async def test_lists_page_newest_first_without_repeats(api: httpx.AsyncClient) -> None:
    star, *fans = await _users(api, 6, "pg")
    for fan in fans:
        await _act(api, fan, "follow", star)
    expected = [fan.username for fan in reversed(fans)]
    assert await _list(api, f"/v1/users/{star.username}/followers", None, page_size=2) == expected
    assert await _list(api, f"/v1/users/{star.username}/followers", fans[0], page_size=5) == expected
    page = (await api.get(f"/v1/users/{star.username}/followers", headers=fans[0].headers)).json()
    by_name = {u["username"]: u for u in page["users"]}
    assert "relationship" not in by_name[fans[0].username]  # the viewer's own entry
    assert by_name[fans[1].username]["id"] == fans[1].user["id"]  # hydrated from the user service
    assert _flags(by_name[fans[1].username]["relationship"]) == set()


async def test_a_protected_account_turns_follows_into_requests(api: httpx.AsyncClient) -> None:
    owner, asker, other, withdrawer = await _users(api, 4, "prot")
    await _update_me(api, owner, protected=True)

    assert _flags(await _act(api, asker, "follow", owner)) == {"follow_requested"}
    assert _flags(await _act(api, asker, "follow", owner)) == {"follow_requested"}  # asks once
    await _act(api, other, "follow", owner)
    await _act(api, withdrawer, "follow", owner)
    assert _flags(await _act(api, withdrawer, "unfollow", owner)) == set()  # withdraws the request

    requests = await _list(api, "/v1/follow_requests", owner)
    assert requests == [other.username, asker.username]  # newest first; the withdrawn one is gone
    assert await _list(api, f"/v1/users/{owner.username}/followers", owner) == []  # not followers yet

    accepted = await api.post(f"/v1/follow_requests/{asker.username}:accept", headers=owner.headers)
    assert accepted.status_code == 200, accepted.text
    assert _flags(accepted.json()) == {"followed_by"}
    rejected = await api.post(f"/v1/follow_requests/{other.username}:reject", headers=owner.headers)
    assert rejected.status_code == 200, rejected.text
    again = await api.post(f"/v1/follow_requests/{other.username}:accept", headers=owner.headers)
    assert again.status_code == 404
    assert error_reason(again.json()) == "FOLLOW_REQUEST_NOT_FOUND"

    assert await _list(api, "/v1/follow_requests", owner) == []
    assert await _list(api, f"/v1/users/{owner.username}/followers", owner) == [asker.username]
    assert _flags((await api.get(f"/v1/users/{owner.username}", headers=asker.headers)).json()["relationship"]) == {
        "following"
    }
    assert "relationship" not in (await api.get(f"/v1/users/{owner.username}", headers=owner.headers)).json()
    assert (
        _flags((await api.get(f"/v1/users/{owner.username}", headers=other.headers)).json().get("relationship", {}))
        == set()
    )


async def test_a_protected_accounts_lists_are_for_its_followers_only(api: httpx.AsyncClient) -> None:
    owner, follower, stranger, followee = await _users(api, 4, "plist")
    await _act(api, follower, "follow", owner)
    await _act(api, owner, "follow", followee)
    await _update_me(api, owner, protected=True)
    for path in (f"/v1/users/{owner.username}/followers", f"/v1/users/{owner.username}/following"):
        for viewer in (None, stranger):
            answer = await api.get(path, headers=viewer.headers if viewer else {})
            assert answer.status_code == 403, answer.text
            assert error_reason(answer.json()) == "ACCOUNT_PROTECTED"
    assert await _list(api, f"/v1/users/{owner.username}/followers", follower) == [follower.username]
    assert await _list(api, f"/v1/users/{owner.username}/following", owner) == [followee.username]


async def test_block_removes_follows_both_ways_and_refuses_new_ones(api: httpx.AsyncClient) -> None:
    blocker, blocked, witness = await _users(api, 3, "blk")
    await _act(api, blocker, "follow", blocked)
    await _act(api, blocked, "follow", blocker)
    await _act(api, witness, "follow", blocker)

    assert _flags(await _act(api, blocker, "block", blocked)) == {"blocking"}
    assert _flags(await _act(api, blocker, "block", blocked)) == {"blocking"}  # idempotent
    assert await _list(api, f"/v1/users/{blocker.username}/followers", witness) == [witness.username]
    assert await _list(api, f"/v1/users/{blocker.username}/following", witness) == []
    assert await _list(api, f"/v1/users/{blocked.username}/followers", witness) == []

    for who, whom in ((blocked, blocker), (blocker, blocked)):
        answer = await api.post(f"/v1/users/{whom.username}:follow", headers=who.headers)
        assert answer.status_code == 403, answer.text
        assert error_reason(answer.json()) == "BLOCKED"
    # Each sees the block from their side; neither sees the other's lists.
    seen_by_blocked = (await api.get(f"/v1/users/{blocker.username}", headers=blocked.headers)).json()
    assert _flags(seen_by_blocked["relationship"]) == {"blocked_by"}
    for who, whom in ((blocked, blocker), (blocker, blocked)):
        answer = await api.get(f"/v1/users/{whom.username}/followers", headers=who.headers)
        assert answer.status_code == 403
        assert error_reason(answer.json()) == "BLOCKED"
    # Lists others see leave the blocked user out for the blocker.
    await _act(api, blocked, "follow", witness)
    assert await _list(api, f"/v1/users/{witness.username}/followers", blocker) == []
    assert await _list(api, f"/v1/users/{witness.username}/followers", None) == [blocked.username]

    # The user service counts from the graph's events: the block's unfollows are counted like any other.
    async def counts_settled() -> bool | None:
        counts = [
            (u["follower_count"], u["following_count"])
            for u in [(await api.get(f"/v1/users/{a.username}")).json() for a in (blocker, blocked)]
        ]
        return True if counts == [(1, 0), (0, 1)] else None  # witness follows blocker; blocked follows witness

    await eventually(counts_settled, within=5)

    assert _flags(await _act(api, blocker, "unblock", blocked)) == set()  # follows are not restored
    assert _flags(await _act(api, blocked, "follow", blocker)) == {"following"}


async def test_mute_sets_only_the_muting_flag(api: httpx.AsyncClient) -> None:
    muter, muted = await _users(api, 2, "mute")
    await _act(api, muter, "follow", muted)
    assert _flags(await _act(api, muter, "mute", muted)) == {"following", "muting"}
    assert _flags(await _act(api, muter, "mute", muted)) == {"following", "muting"}
    seen_by_muted = (await api.get(f"/v1/users/{muter.username}", headers=muted.headers)).json()
    assert _flags(seen_by_muted["relationship"]) == {"followed_by"}  # the muted user cannot tell
    assert await _list(api, f"/v1/users/{muted.username}/followers", muter) == [muter.username]
    assert _flags(await _act(api, muter, "unmute", muted)) == {"following"}


async def test_suggestions_rank_friends_of_friends_and_leave_out_the_excluded(api: httpx.AsyncClient) -> None:
    me, f1, f2, f3, top, second, third, fourth, outsider = await _users(api, 9, "sug")
    for friend in (f1, f2, f3):
        await _act(api, me, "follow", friend)
    for friend in (f1, f2, f3):
        await _act(api, friend, "follow", top)  # 3 of my followees follow it
    for friend in (f1, f2):
        await _act(api, friend, "follow", second)  # 2, and one more follower than `third`
        await _act(api, friend, "follow", third)
    await _act(api, outsider, "follow", second)
    await _act(api, f1, "follow", fourth)
    await _act(api, f1, "follow", f2)  # already followed by me: never suggested
    await _act(api, f3, "follow", me)  # I am never suggested to myself

    suggested = await _list(api, "/v1/suggestions", me, page_size=2)
    assert suggested == [top.username, second.username, third.username, fourth.username]
    page = (await api.get("/v1/suggestions", headers=me.headers)).json()
    assert page["users"][0]["id"] == top.user["id"]
    assert _flags(page["users"][0]["relationship"]) == set()

    excluded = await _users(api, 4, "sgx")
    for friend_of_friend in excluded:
        await _act(api, f1, "follow", friend_of_friend)
    blocked, blocker, muted, requested = excluded
    await _act(api, me, "block", blocked)
    await _act(api, blocker, "block", me)
    await _act(api, me, "mute", muted)
    expected = [top.username, second.username, third.username, fourth.username, requested.username]
    assert await _list(api, "/v1/suggestions", me) == expected

    await _update_me(api, requested, protected=True)
    assert _flags(await _act(api, me, "follow", requested)) == {"follow_requested"}
    assert await _list(api, "/v1/suggestions", me) == expected[:-1]

    await _update_me(api, second, discoverable=False)
    assert await _list(api, "/v1/suggestions", me) == [top.username, third.username, fourth.username]


async def test_each_change_publishes_exactly_its_events(api: httpx.AsyncClient, stack: Stack) -> None:
    alice, bob = await _users(api, 2, "evt")
    ids = {int(alice.user["id"]): "alice", int(bob.user["id"]): "bob"}
    seen: list[tuple[str, str, str]] = []
    decoders: dict[str, Any] = {
        "followed": graph_events_pb2.Followed,
        "unfollowed": graph_events_pb2.Unfollowed,
        "blocked": graph_events_pb2.Blocked,
        "unblocked": graph_events_pb2.Unblocked,
        "muted": graph_events_pb2.Muted,
        "unmuted": graph_events_pb2.Unmuted,
    }

    async def on_message(msg: Any) -> None:
        name = msg.subject.removeprefix("chirp.graph.")
        if name in decoders:
            event = decoders[name].FromString(msg.data)
            if event.actor_user_id in ids and event.target_user_id in ids:
                seen.append((name, ids[event.actor_user_id], ids[event.target_user_id]))

    nc = await nats.connect(stack.nats_url)
    try:
        await nc.subscribe("chirp.graph.>", cb=on_message)
        await nc.flush()
        await _act(api, alice, "follow", bob)
        await _act(api, alice, "follow", bob)
        await _act(api, bob, "follow", alice)
        await _act(api, alice, "mute", bob)
        await _act(api, alice, "unmute", bob)
        await _act(api, bob, "block", alice)
        await _act(api, bob, "block", alice)
        await _act(api, bob, "unblock", alice)
        expected = [
            ("followed", "alice", "bob"),
            ("followed", "bob", "alice"),
            ("muted", "alice", "bob"),
            ("unmuted", "alice", "bob"),
            ("unfollowed", "bob", "alice"),  # the blocker's own follow
            ("unfollowed", "alice", "bob"),  # the blocked user's follow: still the follower as actor
            ("blocked", "bob", "alice"),
            ("unblocked", "bob", "alice"),
        ]
        # The outbox relays right after each commit; the deadline is generous for a busy 2-core machine.
        await eventually(lambda: _true_when(len(seen) >= len(expected)), within=15.0)
        await asyncio.sleep(0.2)  # anything extra would arrive by now
        assert seen == expected
    finally:
        await nc.close()


# --- bad input: every graph route answers 4xx with a reason, never 5xx ------------------------------------------

_ACTIONS = ("follow", "unfollow", "block", "unblock", "mute", "unmute")


@pytest_asyncio.fixture(loop_scope="session")
async def someone(api: httpx.AsyncClient) -> Account:
    return await register_and_login(api, "bad")


async def test_bad_input_table(api: httpx.AsyncClient, someone: Account) -> None:
    me = someone
    other = await register_and_login(api, "badx")
    ghost = new_username("ghost")
    auth = me.headers
    cases: list[tuple[str, str, dict[str, str], dict[str, Any], int, str]] = []
    for action in _ACTIONS:
        cases += [
            ("POST", f"/v1/users/{ghost}:{action}", auth, {}, 404, "USER_NOT_FOUND"),
            ("POST", f"/v1/users/{me.username}:{action}", auth, {}, 400, "CANNOT_TARGET_SELF"),
            ("POST", f"/v1/users/{me.username.upper()}:{action}", auth, {}, 400, "CANNOT_TARGET_SELF"),
            ("POST", f"/v1/users/no%20spaces:{action}", auth, {}, 400, ""),
            ("POST", f"/v1/users/{'x' * 16}:{action}", auth, {}, 400, ""),
            ("POST", f"/v1/users/{other.username}:{action}", {}, {}, 401, ""),
        ]
    for path in ("/v1/users/{}/followers", "/v1/users/{}/following"):
        cases += [
            ("GET", path.format(ghost), auth, {}, 404, "USER_NOT_FOUND"),
            ("GET", path.format("bad-name"), auth, {}, 400, ""),
            ("GET", path.format(other.username), auth, {"page_token": "garbage"}, 400, "INVALID_PAGE_TOKEN"),
            ("GET", path.format(other.username), auth, {"page_token": "9" * 19}, 400, "INVALID_PAGE_TOKEN"),
            ("GET", path.format(other.username), auth, {"page_token": "-5"}, 400, "INVALID_PAGE_TOKEN"),
            ("GET", path.format(other.username), auth, {"page_token": "\u00b2"}, 400, "INVALID_PAGE_TOKEN"),
            ("GET", path.format(other.username), auth, {"page_token": "1" * 600}, 400, ""),
            ("GET", path.format(other.username), auth, {"page_size": "101"}, 400, ""),
            ("GET", path.format(other.username), auth, {"page_size": "1000000"}, 400, ""),
            ("GET", path.format(other.username), auth, {"page_size": "99999999999"}, 400, ""),
            ("GET", path.format(other.username), auth, {"page_size": "-1"}, 400, ""),
            ("GET", path.format(other.username), auth, {"page_size": "ten"}, 400, ""),
        ]
    for route in ("accept", "reject"):
        cases += [
            ("POST", f"/v1/follow_requests/{ghost}:{route}", auth, {}, 404, "USER_NOT_FOUND"),
            ("POST", f"/v1/follow_requests/{other.username}:{route}", auth, {}, 404, "FOLLOW_REQUEST_NOT_FOUND"),
            ("POST", f"/v1/follow_requests/{me.username}:{route}", auth, {}, 404, "FOLLOW_REQUEST_NOT_FOUND"),
            ("POST", f"/v1/follow_requests/a.b:{route}", auth, {}, 400, ""),
            ("POST", f"/v1/follow_requests/{other.username}:{route}", {}, {}, 401, ""),
        ]
    for path in ("/v1/follow_requests", "/v1/suggestions"):
        cases += [
            ("GET", path, {}, {}, 401, ""),
            ("GET", path, auth, {"page_token": "garbage"}, 400, "INVALID_PAGE_TOKEN"),
            ("GET", path, auth, {"page_token": "\u00b2"}, 400, "INVALID_PAGE_TOKEN"),
            ("GET", path, auth, {"page_token": "1.2.99999999999999999999"}, 400, "INVALID_PAGE_TOKEN"),
            ("GET", path, auth, {"page_size": "101"}, 400, ""),
            ("GET", path, auth, {"page_size": "4294967296"}, 400, ""),
            ("GET", path, auth, {"page_size": "-1"}, 400, ""),
        ]
    failures = []
    for method, path, headers, params, status, expected_reason in cases:
        answer = await api.request(method, path, headers=headers, params=params)
        body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
        if answer.status_code != status or (expected_reason and error_reason(body) != expected_reason):
            failures.append(f"{method} {path} {params}: {answer.status_code} {answer.text[:200]}")
    assert not failures, "\n".join(failures)


async def test_a_body_on_a_graph_action_does_not_break_it(api: httpx.AsyncClient, someone: Account) -> None:
    other = await register_and_login(api, "body")
    answer = await api.post(
        f"/v1/users/{other.username}:follow",
        headers=someone.headers | {"content-type": "application/json"},
        content=b"{oops",
    )
    assert answer.status_code < 500, answer.text
