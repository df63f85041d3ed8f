"""Likes, retweets and bookmarks end to end, through the REST gateway like any client: the whole stack runs,
so these also check that the tweet service hydrates tweets with engagement and that deletions reach us.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.e2e.client import Account, error_reason, register_and_login, violated_fields

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _post(api: httpx.AsyncClient, author: Account, text: str = "engage with me") -> dict[str, Any]:
    answer = await api.post("/v1/tweets", headers=author.headers, json={"text": text})
    assert answer.status_code == 200, answer.text
    tweet: dict[str, Any] = answer.json()
    return tweet


async def _act(api: httpx.AsyncClient, who: Account, tweet_id: str, action: str) -> dict[str, Any]:
    answer = await api.post(f"/v1/tweets/{tweet_id}:{action}", headers=who.headers)
    assert answer.status_code == 200, f"{action}: {answer.status_code} {answer.text}"
    tweet: dict[str, Any] = answer.json()
    return tweet


def _viewer(tweet: dict[str, Any]) -> tuple[bool, bool, bool]:
    viewer = tweet.get("viewer") or {}
    return bool(viewer.get("liked")), bool(viewer.get("retweeted")), bool(viewer.get("bookmarked"))


async def _ids(api: httpx.AsyncClient, path: str, key: str, headers: dict[str, str] | None = None) -> list[str]:
    """Every page of a list, following next_page_token with small pages."""
    seen: list[str] = []
    token = ""
    while True:
        answer = await api.get(path, headers=headers or {}, params={"page_size": 2, "page_token": token})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen += [item["id"] for item in body[key]]
        token = body["next_page_token"]
        if not token:
            return seen


# Round trips: the answer is the tweet with its counters and the caller's own state


async def test_like_and_unlike_round_trip(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "lka")
    bob = await register_and_login(api, "lkb")
    tweet = await _post(api, alice)

    liked = await _act(api, bob, tweet["id"], "like")
    assert liked["id"] == tweet["id"] and liked["text"] == "engage with me"
    assert liked["author"]["username"] == alice.username
    assert liked["like_count"] == 1 and _viewer(liked) == (True, False, False)
    again = await _act(api, bob, tweet["id"], "like")  # idempotent
    assert again["like_count"] == 1 and _viewer(again) == (True, False, False)
    by_alice = await _act(api, alice, tweet["id"], "like")  # authors may like their own tweets
    assert by_alice["like_count"] == 2

    unliked = await _act(api, bob, tweet["id"], "unlike")
    assert unliked["like_count"] == 1 and _viewer(unliked) == (False, False, False)
    again = await _act(api, bob, tweet["id"], "unlike")
    assert again["like_count"] == 1 and _viewer(again) == (False, False, False)


async def test_retweet_and_unretweet_round_trip(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "rta")
    bob = await register_and_login(api, "rtb")
    tweet = await _post(api, alice)

    retweeted = await _act(api, bob, tweet["id"], "retweet")
    assert retweeted["id"] == tweet["id"]
    assert retweeted["retweet_count"] == 1 and _viewer(retweeted) == (False, True, False)
    again = await _act(api, bob, tweet["id"], "retweet")
    assert again["retweet_count"] == 1
    # The retweet row is bob's tweet on his profile; liking it likes alice's original.
    listed = (await api.get(f"/v1/users/{bob.username}/tweets")).json()["tweets"]
    rows = [t for t in listed if (t.get("retweeted_tweet") or {}).get("id") == tweet["id"]]
    assert len(rows) == 1, listed
    liked_via_row = await _act(api, alice, rows[0]["id"], "like")
    assert liked_via_row["id"] == tweet["id"] and liked_via_row["like_count"] == 1

    unretweeted = await _act(api, bob, tweet["id"], "unretweet")
    assert unretweeted["retweet_count"] == 0 and _viewer(unretweeted) == (False, False, False)
    listed = (await api.get(f"/v1/users/{bob.username}/tweets")).json()["tweets"]
    assert not [t for t in listed if (t.get("retweeted_tweet") or {}).get("id") == tweet["id"]]
    again = await _act(api, bob, tweet["id"], "unretweet")
    assert again["retweet_count"] == 0


async def test_users_may_retweet_their_own_tweets(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "rself")
    tweet = await _post(api, alice)
    retweeted = await _act(api, alice, tweet["id"], "retweet")
    assert retweeted["retweet_count"] == 1 and _viewer(retweeted)[1]


async def test_bookmark_and_unbookmark_round_trip_and_bookmarks_stay_private(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "bma")
    bob = await register_and_login(api, "bmb")
    tweet = await _post(api, alice)

    bookmarked = await _act(api, bob, tweet["id"], "bookmark")
    assert _viewer(bookmarked) == (False, False, True)
    assert "bookmark_count" not in bookmarked  # nobody learns how often a tweet is bookmarked
    assert _viewer(await _act(api, bob, tweet["id"], "bookmark")) == (False, False, True)
    # Alice sees her tweet without bob's bookmark.
    as_alice = await api.get(f"/v1/tweets/{tweet['id']}", headers=alice.headers)
    assert as_alice.status_code == 200 and not _viewer(as_alice.json())[2]
    unbookmarked = await _act(api, bob, tweet["id"], "unbookmark")
    assert _viewer(unbookmarked) == (False, False, False)


async def test_get_tweet_shows_counts_and_the_readers_own_state(api: httpx.AsyncClient) -> None:
    """Needs the tweet service to hydrate with EngagementService.BatchGetEngagement."""
    alice = await register_and_login(api, "hya")
    bob = await register_and_login(api, "hyb")
    tweet = await _post(api, alice)
    await _act(api, bob, tweet["id"], "like")
    await _act(api, bob, tweet["id"], "bookmark")

    async def read(who: Account | None) -> dict[str, Any]:
        answer = await api.get(f"/v1/tweets/{tweet['id']}", headers=who.headers if who else {})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    as_bob = await read(bob)
    assert (as_bob["like_count"], as_bob["retweet_count"], _viewer(as_bob)) == (1, 0, (True, False, True))
    as_alice = await read(alice)
    assert (as_alice["like_count"], _viewer(as_alice)) == (1, (False, False, False))
    anonymous = await read(None)
    assert anonymous["like_count"] == 1 and "viewer" not in anonymous

    await _act(api, bob, tweet["id"], "retweet")
    as_bob = await read(bob)
    assert (as_bob["like_count"], as_bob["retweet_count"], _viewer(as_bob)) == (1, 1, (True, True, True))


# Lists


async def test_likers_are_listed_newest_first(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "lla")
    fans = [await register_and_login(api, f"ll{n}") for n in range(3)]
    tweet = await _post(api, alice)
    for fan in fans:
        await _act(api, fan, tweet["id"], "like")
    await _act(api, fans[0], tweet["id"], "unlike")

    newest_first = [fan.user["id"] for fan in reversed(fans[1:])]
    assert await _ids(api, f"/v1/tweets/{tweet['id']}/likers", "users") == newest_first
    assert await _ids(api, f"/v1/tweets/{tweet['id']}/likers", "users", alice.headers) == newest_first
    page = (await api.get(f"/v1/tweets/{tweet['id']}/likers")).json()
    assert page["users"][0]["username"] == fans[-1].username  # hydrated users
    assert (await _ids(api, f"/v1/tweets/{tweet['id']}/retweeters", "users")) == []


async def test_retweeters_are_listed_newest_first(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "lra")
    fans = [await register_and_login(api, f"lr{n}") for n in range(3)]
    tweet = await _post(api, alice)
    for fan in fans:
        await _act(api, fan, tweet["id"], "retweet")
    await _act(api, fans[1], tweet["id"], "unretweet")
    expected = [fans[2].user["id"], fans[0].user["id"]]
    assert await _ids(api, f"/v1/tweets/{tweet['id']}/retweeters", "users") == expected


async def test_likers_leave_out_users_blocked_either_way(api: httpx.AsyncClient) -> None:
    """Needs GraphService.Block and BatchGetRelationships."""
    alice = await register_and_login(api, "lba")
    viewer = await register_and_login(api, "lbv")
    blocked, blocker, plain = [await register_and_login(api, f"lb{n}") for n in range(3)]
    tweet = await _post(api, alice)
    for fan in (blocked, blocker, plain):
        await _act(api, fan, tweet["id"], "like")
    assert (await api.post(f"/v1/users/{blocked.username}:block", headers=viewer.headers)).status_code == 200
    assert (await api.post(f"/v1/users/{viewer.username}:block", headers=blocker.headers)).status_code == 200

    seen = await _ids(api, f"/v1/tweets/{tweet['id']}/likers", "users", viewer.headers)
    assert seen == [plain.user["id"]]
    everyone = await _ids(api, f"/v1/tweets/{tweet['id']}/likers", "users")
    assert len(everyone) == 3


async def test_bookmarks_are_the_callers_own_newest_first_without_deleted_tweets(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "bla")
    bob = await register_and_login(api, "blb")
    carol = await register_and_login(api, "blc")
    tweets = [await _post(api, alice, f"bookmark me {n}") for n in range(4)]
    for tweet in tweets:
        await _act(api, bob, tweet["id"], "bookmark")
    await _act(api, carol, tweets[0]["id"], "bookmark")
    await _act(api, bob, tweets[1]["id"], "unbookmark")

    expected = [tweets[3]["id"], tweets[2]["id"], tweets[0]["id"]]
    assert await _ids(api, "/v1/bookmarks", "tweets", bob.headers) == expected
    assert await _ids(api, "/v1/bookmarks", "tweets", carol.headers) == [tweets[0]["id"]]
    assert await _ids(api, "/v1/bookmarks", "tweets", alice.headers) == []


async def test_bookmarks_drop_deleted_tweets(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "bda")
    bob = await register_and_login(api, "bdb")
    tweets = [await _post(api, alice, f"soon gone {n}") for n in range(2)]
    for tweet in tweets:
        await _act(api, bob, tweet["id"], "bookmark")
    assert (await api.delete(f"/v1/tweets/{tweets[1]['id']}", headers=alice.headers)).status_code == 200
    assert await _ids(api, "/v1/bookmarks", "tweets", bob.headers) == [tweets[0]["id"]]


async def test_a_deleted_tweet_takes_its_likes_with_it(api: httpx.AsyncClient) -> None:
    """Needs DeleteTweet to publish chirp.tweet.deleted (the engagement service consumes it)."""
    alice = await register_and_login(api, "dla")
    bob = await register_and_login(api, "dlb")
    tweet = await _post(api, alice)
    await _act(api, bob, tweet["id"], "like")
    assert (await api.delete(f"/v1/tweets/{tweet['id']}", headers=alice.headers)).status_code == 200

    for action in ("like", "unlike", "retweet", "bookmark"):
        answer = await api.post(f"/v1/tweets/{tweet['id']}:{action}", headers=bob.headers)
        assert answer.status_code == 404 and error_reason(answer.json()) == "TWEET_NOT_FOUND", action
    likers = await api.get(f"/v1/tweets/{tweet['id']}/likers")
    assert likers.status_code == 404


# Visibility


async def test_a_blocked_users_tweet_cannot_be_engaged_with_or_listed(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "iva")
    bob = await register_and_login(api, "ivb")
    tweet = await _post(api, alice)
    await _act(api, bob, tweet["id"], "like")
    assert (await api.post(f"/v1/users/{bob.username}:block", headers=alice.headers)).status_code == 200

    for action in ("like", "unlike", "retweet", "unretweet", "bookmark", "unbookmark"):
        answer = await api.post(f"/v1/tweets/{tweet['id']}:{action}", headers=bob.headers)
        assert answer.status_code == 404, f"{action}: {answer.status_code} {answer.text}"
        assert error_reason(answer.json()) == "TWEET_NOT_FOUND", action
    for path in ("likers", "retweeters"):
        answer = await api.get(f"/v1/tweets/{tweet['id']}/{path}", headers=bob.headers)
        assert answer.status_code == 404, path


async def test_a_protected_accounts_tweet_is_not_found_for_strangers_and_never_retweetable(
    api: httpx.AsyncClient,
) -> None:
    alice = await register_and_login(api, "pra")
    stranger = await register_and_login(api, "prs")
    tweet = await _post(api, alice)
    answer = await api.patch("/v1/me", headers=alice.headers, json={"protected": True})
    assert answer.status_code == 200, answer.text

    for action in ("like", "retweet", "bookmark"):
        answer = await api.post(f"/v1/tweets/{tweet['id']}:{action}", headers=stranger.headers)
        assert answer.status_code == 404 and error_reason(answer.json()) == "TWEET_NOT_FOUND", action
    assert (await api.get(f"/v1/tweets/{tweet['id']}/likers")).status_code == 404
    # Its author sees it and may like it, but protected tweets are never retweeted, even by their author.
    assert (await _act(api, alice, tweet["id"], "like"))["like_count"] == 1
    answer = await api.post(f"/v1/tweets/{tweet['id']}:retweet", headers=alice.headers)
    assert answer.status_code == 403 and error_reason(answer.json()) == "ACCOUNT_PROTECTED"


# Concurrency through the gateway


async def test_concurrent_likes_through_the_gateway_count_exactly(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "cca")
    fans = await asyncio.gather(*(register_and_login(api, f"cc{n}") for n in range(12)))
    eager = fans[0]
    tweet = await _post(api, alice)
    path = f"/v1/tweets/{tweet['id']}:like"
    answers = await asyncio.gather(
        *(api.post(path, headers=fan.headers) for fan in fans),
        *(api.post(path, headers=eager.headers) for _ in range(20)),
    )
    assert [a.status_code for a in answers] == [200] * len(answers)
    assert max(a.json()["like_count"] for a in answers) == len(fans)
    likers = await _ids(api, f"/v1/tweets/{tweet['id']}/likers", "users")
    assert sorted(likers) == sorted(fan.user["id"] for fan in fans)

    # Interleaved likes and unlikes: whatever order they land in, the count equals the likers.
    undo = f"/v1/tweets/{tweet['id']}:unlike"
    mixed = [api.post(undo if n % 3 else path, headers=fans[n % len(fans)].headers) for n in range(48)]
    assert {a.status_code for a in await asyncio.gather(*mixed)} == {200}
    likers = await _ids(api, f"/v1/tweets/{tweet['id']}/likers", "users")
    final = await _act(api, alice, tweet["id"], "bookmark")  # any write answers the fresh counters
    assert final["like_count"] == len(likers) == len(set(likers))


async def test_concurrent_retweets_by_one_user_make_one_retweet(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "cra")
    bob = await register_and_login(api, "crb")
    tweet = await _post(api, alice)
    path = f"/v1/tweets/{tweet['id']}:retweet"
    answers = await asyncio.gather(*(api.post(path, headers=bob.headers) for _ in range(10)))
    assert [a.status_code for a in answers] == [200] * 10
    assert {a.json()["retweet_count"] for a in answers} == {1}
    listed = (await api.get(f"/v1/users/{bob.username}/tweets")).json()["tweets"]
    assert len([t for t in listed if (t.get("retweeted_tweet") or {}).get("id") == tweet["id"]]) == 1


# Bad input: every engagement route answers 4xx with a reason, never 5xx


_WRITES = ["like", "unlike", "retweet", "unretweet", "bookmark", "unbookmark"]


@pytest.mark.parametrize("action", _WRITES)
@pytest.mark.parametrize(
    ("tweet_id", "status", "reason", "fields"),
    [
        ("0", 400, "INVALID_ARGUMENT", ["tweet_id"]),
        ("-5", 400, "INVALID_ARGUMENT", ["tweet_id"]),
        ("abc", 400, "", []),  # refused by the gateway's transcoder before any service
        ("1e3", 400, "", []),
        ("99999999999999999999", 400, "", []),  # beyond int64
        ("123", 404, "TWEET_NOT_FOUND", []),
    ],
)
async def test_bad_tweet_ids_on_writes(
    api: httpx.AsyncClient, action: str, tweet_id: str, status: int, reason: str, fields: list[str]
) -> None:
    account = await _shared_account(api)
    answer = await api.post(f"/v1/tweets/{tweet_id}:{action}", headers=account.headers)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["message"]  # always a reason a person can read
    assert error_reason(body) == reason
    assert violated_fields(body) == fields


@pytest.mark.parametrize("action", _WRITES)
async def test_writes_without_a_token_are_401(api: httpx.AsyncClient, action: str) -> None:
    answer = await api.post(f"/v1/tweets/123:{action}")
    assert answer.status_code == 401
    assert answer.json()["code"] == 16


@pytest.mark.parametrize("action", _WRITES)
async def test_a_body_on_a_write_changes_nothing(api: httpx.AsyncClient, action: str) -> None:
    """The routes take no body; junk in one must not turn into a 5xx."""
    account = await _shared_account(api)
    answer = await api.post(
        f"/v1/tweets/123:{action}", headers=account.headers | {"content-type": "application/json"}, content=b"{oops"
    )
    assert 400 <= answer.status_code < 500, answer.text


@pytest.mark.parametrize("path", ["likers", "retweeters"])
@pytest.mark.parametrize(
    ("query", "status", "reason", "fields"),
    [
        ({"page_size": "101"}, 400, "INVALID_ARGUMENT", ["page_size"]),
        ({"page_size": "-1"}, 400, "INVALID_ARGUMENT", ["page_size"]),
        ({"page_size": "ten"}, 400, "", []),
        ({"page_token": "not-ours"}, 400, "INVALID_PAGE_TOKEN", ["page_token"]),
        ({"page_token": "9" * 30}, 400, "INVALID_PAGE_TOKEN", ["page_token"]),
        ({"page_token": "x" * 600}, 400, "INVALID_ARGUMENT", ["page_token"]),
    ],
)
async def test_bad_list_parameters_on_tweet_lists(
    api: httpx.AsyncClient, path: str, query: dict[str, str], status: int, reason: str, fields: list[str]
) -> None:
    tweet = await _shared_tweet(api)
    answer = await api.get(f"/v1/tweets/{tweet}/{path}", params=query)
    assert answer.status_code == status, answer.text
    assert error_reason(answer.json()) == reason
    assert violated_fields(answer.json()) == fields


@pytest.mark.parametrize("path", ["likers", "retweeters"])
@pytest.mark.parametrize(("tweet_id", "status"), [("0", 400), ("abc", 400), ("123", 404)])
async def test_bad_tweet_ids_on_tweet_lists(api: httpx.AsyncClient, path: str, tweet_id: str, status: int) -> None:
    answer = await api.get(f"/v1/tweets/{tweet_id}/{path}")
    assert answer.status_code == status, answer.text
    assert answer.json()["message"]


@pytest.mark.parametrize(
    ("query", "reason", "fields"),
    [
        ({"page_size": "101"}, "INVALID_ARGUMENT", ["page_size"]),
        ({"page_size": "-3"}, "INVALID_ARGUMENT", ["page_size"]),
        ({"page_token": "abc"}, "INVALID_PAGE_TOKEN", ["page_token"]),
        ({"page_token": "x" * 600}, "INVALID_ARGUMENT", ["page_token"]),
    ],
)
async def test_bad_list_parameters_on_bookmarks(
    api: httpx.AsyncClient, query: dict[str, str], reason: str, fields: list[str]
) -> None:
    account = await _shared_account(api)
    answer = await api.get("/v1/bookmarks", headers=account.headers, params=query)
    assert answer.status_code == 400, answer.text
    assert error_reason(answer.json()) == reason
    assert violated_fields(answer.json()) == fields


async def test_bookmarks_without_a_token_are_401(api: httpx.AsyncClient) -> None:
    answer = await api.get("/v1/bookmarks")
    assert answer.status_code == 401
    assert error_reason(answer.json()) == "AUTHENTICATION_REQUIRED"


_shared: dict[str, Any] = {}


async def _shared_account(api: httpx.AsyncClient) -> Account:
    """One account for the many bad-input cases: registering is deliberately slow (argon2id)."""
    if "account" not in _shared:
        _shared["account"] = await register_and_login(api, "bad")
    account: Account = _shared["account"]
    return account


async def _shared_tweet(api: httpx.AsyncClient) -> str:
    if "tweet" not in _shared:
        _shared["tweet"] = (await _post(api, await _shared_account(api)))["id"]
    tweet_id: str = _shared["tweet"]
    return tweet_id
