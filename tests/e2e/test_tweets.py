"""Tweets end to end through the REST gateway: replies, quotes, retweets, delete, threads, user timelines,
visibility on every read path, entities, and a bad-input table for every tweet route.

Follows, follow requests and blocks go through the graph's REST routes, retweets through the engagement
service's, protected accounts through PATCH /v1/me: these tests are of the tweet service as a client meets it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.e2e.client import Account, error_reason, eventually, new_username, register_and_login, violated_fields

pytestmark = pytest.mark.asyncio(loop_scope="session")

Json = dict[str, Any]


async def _post(api: httpx.AsyncClient, who: Account, text: str, **fields: Any) -> Json:
    answer = await api.post("/v1/tweets", headers=who.headers, json={"text": text, **fields})
    assert answer.status_code == 200, answer.text
    tweet: Json = answer.json()
    return tweet


async def _get(api: httpx.AsyncClient, tweet_id: str, who: Account | None = None) -> httpx.Response:
    return await api.get(f"/v1/tweets/{tweet_id}", headers=who.headers if who else {})


async def _ok(answer: httpx.Response) -> Json:
    assert answer.status_code == 200, answer.text
    body: Json = answer.json()
    return body


async def _follow(api: httpx.AsyncClient, follower: Account, followee: Account) -> None:
    await _ok(await api.post(f"/v1/users/{followee.username}:follow", headers=follower.headers))


async def _protect(api: httpx.AsyncClient, who: Account) -> None:
    body = await _ok(await api.patch("/v1/me", headers=who.headers, json={"protected": True}))
    assert body["protected"] is True


async def _approved_follower(api: httpx.AsyncClient, follower: Account, locked: Account) -> None:
    await _follow(api, follower, locked)
    await _ok(await api.post(f"/v1/follow_requests/{follower.username}:accept", headers=locked.headers))


async def _block(api: httpx.AsyncClient, blocker: Account, blocked: Account) -> None:
    await _ok(await api.post(f"/v1/users/{blocked.username}:block", headers=blocker.headers))


# -- text and entities ----------------------------------------------------------------------------------------


async def test_a_tweet_answers_its_entities_with_code_point_indices(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "ent")
    bob = await register_and_login(api, "ent")
    text = f"😷 hi @{bob.username} @nobody_here #Chirp see chirp.dev/a. $ACME"
    tweet = await _post(api, alice, text)
    entities = tweet["entities"]
    at = text.index("@" + bob.username)
    assert entities["mentions"] == [
        {"user_id": bob.user["id"], "username": bob.username, "start": at, "end": at + 1 + len(bob.username)}
    ]
    assert entities["hashtags"] == [{"tag": "Chirp", "start": text.index("#"), "end": text.index("#") + 6}]
    url_at = text.index("chirp.dev")
    assert entities["urls"] == [
        {"url": "chirp.dev/a", "expanded_url": "https://chirp.dev/a", "start": url_at, "end": url_at + 11}
    ]
    assert entities["cashtags"] == [{"symbol": "ACME", "start": text.index("$"), "end": text.index("$") + 5}]
    # Code points, so Python slicing gives the entity back; in UTF-16 units the emoji would shift them by one.
    assert [tweet["text"][e["start"] : e["end"]] for kind in ("hashtags", "urls") for e in entities[kind]] == [
        "#Chirp", "chirp.dev/a"
    ]  # fmt: skip


async def test_the_weighted_limit_counts_urls_as_23_and_emoji_as_2(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "len")
    await _post(api, alice, "x" * 256 + " https://example.com/" + "p" * 300)  # 256 + 1 + 23 = 280
    await _post(api, alice, "👨\u200d👩\u200d👧" * 140)  # a ZWJ family is one emoji: 140 of them weigh 280
    for text in ("x" * 257 + " https://example.com/", "😷" * 141):
        answer = await api.post("/v1/tweets", headers=alice.headers, json={"text": text})
        assert answer.status_code == 400
        assert error_reason(answer.json()) == "TWEET_TOO_LONG"


# -- replies, quotes, retweets ---------------------------------------------------------------------------------


async def test_replies_form_a_conversation_and_count_on_their_parent(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "conv")
    bob = await register_and_login(api, "conv")
    carol = await register_and_login(api, "conv")
    root = await _post(api, alice, "a root")
    reply = await _post(api, bob, "a reply", reply_to_tweet_id=root["id"])
    nested = await _post(api, carol, "a reply to the reply", reply_to_tweet_id=reply["id"])
    assert root["conversation_id"] == root["id"]
    assert (reply["conversation_id"], reply["reply_to_tweet_id"], reply["reply_to_user_id"]) == (
        root["id"], root["id"], alice.user["id"]
    )  # fmt: skip
    assert (nested["conversation_id"], nested["reply_to_tweet_id"]) == (root["id"], reply["id"])
    assert (await _ok(await _get(api, root["id"])))["reply_count"] == 1
    assert (await _ok(await _get(api, reply["id"])))["reply_count"] == 1


async def test_a_quote_embeds_the_quoted_tweet_and_counts_on_it(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "quo")
    bob = await register_and_login(api, "quo")
    quoted = await _post(api, alice, "quote me")
    quote = await _post(api, bob, "quoting", quote_tweet_id=quoted["id"])
    assert quote["quote_tweet_id"] == quoted["id"]
    assert quote["quoted_tweet"]["text"] == "quote me"
    assert quote["quoted_tweet"]["author"]["username"] == alice.username
    assert (await _ok(await _get(api, quoted["id"])))["quote_count"] == 1


async def test_a_retweet_shows_the_original_and_goes_with_it(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "rt")
    bob = await register_and_login(api, "rt")
    original = await _post(api, alice, "retweet me")
    await _ok(await api.post(f"/v1/tweets/{original['id']}:retweet", headers=bob.headers))
    page = await _ok(await api.get(f"/v1/users/{bob.username}/tweets"))
    [row] = page["tweets"]
    assert row["author"]["username"] == bob.username and row["text"] == ""
    assert row["retweeted_tweet"]["id"] == original["id"] and row["retweeted_tweet"]["text"] == "retweet me"
    assert (await _ok(await _get(api, row["id"])))["retweeted_tweet"]["id"] == original["id"]

    await _ok(await api.delete(f"/v1/tweets/{original['id']}", headers=alice.headers))
    assert (await _get(api, row["id"])).status_code == 404  # the retweet row went with the original
    assert (await _ok(await api.get(f"/v1/users/{bob.username}/tweets")))["tweets"] == []


async def test_protected_tweets_cannot_be_retweeted(api: httpx.AsyncClient) -> None:
    locked = await register_and_login(api, "lrt")
    follower = await register_and_login(api, "lrt")
    await _protect(api, locked)
    await _approved_follower(api, follower, locked)
    tweet = await _post(api, locked, "no retweets")
    answer = await api.post(f"/v1/tweets/{tweet['id']}:retweet", headers=follower.headers)
    assert answer.status_code == 403, answer.text
    assert error_reason(answer.json()) == "ACCOUNT_PROTECTED"


# -- delete ---------------------------------------------------------------------------------------------------


async def test_only_the_author_deletes_and_counts_follow(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "del")
    bob = await register_and_login(api, "del")
    parent = await _post(api, alice, "parent")
    quoted = await _post(api, alice, "quoted")
    reply = await _post(api, bob, "reply and quote", reply_to_tweet_id=parent["id"], quote_tweet_id=quoted["id"])
    under = await _post(api, alice, "below the reply", reply_to_tweet_id=reply["id"])

    refused = await api.delete(f"/v1/tweets/{reply['id']}", headers=alice.headers)
    assert refused.status_code == 403
    assert error_reason(refused.json()) == "NOT_TWEET_AUTHOR"
    assert (await api.delete(f"/v1/tweets/{reply['id']}")).status_code == 401

    assert await _ok(await api.delete(f"/v1/tweets/{reply['id']}", headers=bob.headers)) == {}
    assert (await _get(api, reply["id"])).status_code == 404
    assert (await _ok(await _get(api, parent["id"])))["reply_count"] == 0
    assert (await _ok(await _get(api, quoted["id"])))["quote_count"] == 0
    kept = await _ok(await _get(api, under["id"]))  # replies stay, pointing at what was deleted
    assert kept["reply_to_tweet_id"] == reply["id"]
    again = await api.delete(f"/v1/tweets/{reply['id']}", headers=bob.headers)
    assert again.status_code == 404
    assert error_reason(again.json()) == "TWEET_NOT_FOUND"


# -- thread context -------------------------------------------------------------------------------------------


async def test_context_answers_ancestors_and_descendants(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "ctx")
    bob = await register_and_login(api, "ctx")
    root = await _post(api, alice, "root")
    middle = await _post(api, bob, "middle", reply_to_tweet_id=root["id"])
    focus = await _post(api, alice, "focus", reply_to_tweet_id=middle["id"])
    first = await _post(api, bob, "first", reply_to_tweet_id=focus["id"])
    deeper = await _post(api, alice, "deeper", reply_to_tweet_id=first["id"])
    second = await _post(api, bob, "second", reply_to_tweet_id=focus["id"])
    body = await _ok(await api.get(f"/v1/tweets/{focus['id']}/context"))
    assert body["tweet"]["id"] == focus["id"]
    assert [t["id"] for t in body["ancestors"]] == [root["id"], middle["id"]]
    assert [t["id"] for t in body["descendants"]] == [first["id"], deeper["id"], second["id"]]


# -- a user's tweets ------------------------------------------------------------------------------------------


async def test_user_tweets_page_newest_first(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "page")
    posted = [(await _post(api, alice, f"number {n}"))["id"] for n in range(5)]
    seen: list[str] = []
    token = ""
    while True:
        page = await _ok(
            await api.get(f"/v1/users/{alice.username}/tweets", params={"page_size": 2, "page_token": token})
        )
        seen += [t["id"] for t in page["tweets"]]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == sorted(posted, key=int, reverse=True)


# -- visibility on every read path ----------------------------------------------------------------------------


async def test_a_protected_account_is_seen_by_approved_followers_only(api: httpx.AsyncClient) -> None:
    locked = await register_and_login(api, "prot")
    follower = await register_and_login(api, "prot")
    stranger = await register_and_login(api, "prot")
    await _protect(api, locked)
    await _approved_follower(api, follower, locked)
    tweet = await _post(api, locked, "followers only")
    reply = await _post(api, follower, "a follower's reply", reply_to_tweet_id=tweet["id"])
    quote = await _post(api, follower, "a follower's quote", quote_tweet_id=tweet["id"])

    assert (await _ok(await _get(api, tweet["id"], follower)))["text"] == "followers only"
    assert (await _ok(await _get(api, tweet["id"], locked)))["text"] == "followers only"
    for reader in (None, stranger):
        assert (await _get(api, tweet["id"], reader)).status_code == 404
        headers = reader.headers if reader else {}
        assert (await api.get(f"/v1/tweets/{tweet['id']}/context", headers=headers)).status_code == 404
        timeline = await api.get(f"/v1/users/{locked.username}/tweets", headers=headers)
        assert timeline.status_code == 403
        assert error_reason(timeline.json()) == "ACCOUNT_PROTECTED"
        # The follower's own tweets stay public, without what they show of the protected account.
        seen_quote = await _ok(await _get(api, quote["id"], reader))
        assert seen_quote["quote_tweet_id"] == tweet["id"] and "quoted_tweet" not in seen_quote
        seen_reply = await _ok(await api.get(f"/v1/tweets/{reply['id']}/context", headers=headers))
        assert seen_reply["ancestors"] == []
    refused = await api.post(
        "/v1/tweets", headers=stranger.headers, json={"text": "let me in", "reply_to_tweet_id": tweet["id"]}
    )
    assert refused.status_code == 404
    assert error_reason(refused.json()) == "TWEET_NOT_FOUND"
    page = await _ok(await api.get(f"/v1/users/{locked.username}/tweets", headers=follower.headers))
    assert [t["id"] for t in page["tweets"]] == [tweet["id"]]


@pytest.mark.parametrize("direction", ["author blocks reader", "reader blocks author"])
async def test_a_block_hides_everything_either_way(api: httpx.AsyncClient, direction: str) -> None:
    author = await register_and_login(api, "blk")
    reader = await register_and_login(api, "blk")
    other = await register_and_login(api, "blk")
    tweet = await _post(api, author, "you cannot see this")
    reply = await _post(api, other, "a reply by someone else", reply_to_tweet_id=tweet["id"])
    if direction == "author blocks reader":
        await _block(api, author, reader)
    else:
        await _block(api, reader, author)

    assert (await _get(api, tweet["id"], reader)).status_code == 404
    assert (await api.get(f"/v1/tweets/{tweet['id']}/context", headers=reader.headers)).status_code == 404
    context = await _ok(await api.get(f"/v1/tweets/{reply['id']}/context", headers=reader.headers))
    assert context["ancestors"] == []
    timeline = await api.get(f"/v1/users/{author.username}/tweets", headers=reader.headers)
    assert timeline.status_code == 403
    assert error_reason(timeline.json()) == "BLOCKED"
    refused = await api.post(
        "/v1/tweets", headers=reader.headers, json={"text": "hey", "reply_to_tweet_id": tweet["id"]}
    )
    assert refused.status_code == 403
    assert error_reason(refused.json()) == "BLOCKED"
    mentioning = await _post(api, author, f"hello @{reader.username}")
    assert mentioning["entities"]["mentions"] == []  # a block keeps a mention from resolving
    assert (await _get(api, tweet["id"], other)).status_code == 200  # everyone else still sees it


# -- bad input: every tweet route answers 4xx with a reason, never 5xx -----------------------------------------

_TOO_BIG = "99999999999999999999"  # beyond int64


@pytest_asyncio.fixture(loop_scope="session")
async def someone(api: httpx.AsyncClient) -> Account:
    return await register_and_login(api, "bad")


@pytest.mark.parametrize(
    ("method", "path", "body", "params", "status", "reason", "field"),
    [
        # POST /v1/tweets
        ("POST", "/v1/tweets", {}, None, 400, "", "text"),
        ("POST", "/v1/tweets", {"text": ""}, None, 400, "", "text"),
        ("POST", "/v1/tweets", {"text": " \n "}, None, 400, "EMPTY_TWEET", "text"),
        ("POST", "/v1/tweets", {"text": "x" * 281}, None, 400, "TWEET_TOO_LONG", "text"),
        ("POST", "/v1/tweets", {"text": "x" * 4001}, None, 400, "", "text"),
        ("POST", "/v1/tweets", {"text": "bad \ufffe"}, None, 400, "INVALID_CHARACTERS", "text"),
        ("POST", "/v1/tweets", {"text": "nul \u0000"}, None, 400, "INVALID_CHARACTERS", "text"),
        ("POST", "/v1/tweets", {"text": 42}, None, 400, "", None),
        ("POST", "/v1/tweets", {"text": "hi", "reply_to_tweet_id": "-1"}, None, 400, "", "reply_to_tweet_id"),
        ("POST", "/v1/tweets", {"text": "hi", "reply_to_tweet_id": "abc"}, None, 400, "", None),
        ("POST", "/v1/tweets", {"text": "hi", "reply_to_tweet_id": _TOO_BIG}, None, 400, "", None),
        ("POST", "/v1/tweets", {"text": "hi", "reply_to_tweet_id": "123456789"}, None, 404, "TWEET_NOT_FOUND", None),
        ("POST", "/v1/tweets", {"text": "hi", "quote_tweet_id": "-7"}, None, 400, "", "quote_tweet_id"),
        ("POST", "/v1/tweets", {"text": "hi", "quote_tweet_id": "123456789"}, None, 404, "TWEET_NOT_FOUND", None),
        ("POST", "/v1/tweets", {"text": "hi", "media_ids": ["1", "2", "3", "4", "5"]}, None, 400, "", "media_ids"),
        ("POST", "/v1/tweets", {"text": "hi", "media_ids": ["1", "1"]}, None, 400, "", "media_ids"),
        ("POST", "/v1/tweets", {"text": "hi", "media_ids": ["0"]}, None, 400, "", "media_ids[0]"),
        ("POST", "/v1/tweets", {"text": "hi", "media_ids": ["424242"]}, None, 404, "MEDIA_NOT_FOUND", "media_ids"),
        ("POST", "/v1/tweets", {"text": "hi", "request_id": "r" * 65}, None, 400, "", "request_id"),
        ("POST", "/v1/tweets", [1, 2], None, 400, "", None),
        # GET /v1/tweets/{tweet_id}
        ("GET", "/v1/tweets/abc", None, None, 400, "", None),
        ("GET", "/v1/tweets/0", None, None, 400, "", "tweet_id"),
        ("GET", "/v1/tweets/-5", None, None, 400, "", "tweet_id"),
        ("GET", f"/v1/tweets/{_TOO_BIG}", None, None, 400, "", None),
        ("GET", "/v1/tweets/123456789", None, None, 404, "TWEET_NOT_FOUND", None),
        # DELETE /v1/tweets/{tweet_id}
        ("DELETE", "/v1/tweets/abc", None, None, 400, "", None),
        ("DELETE", "/v1/tweets/0", None, None, 400, "", "tweet_id"),
        ("DELETE", f"/v1/tweets/{_TOO_BIG}", None, None, 400, "", None),
        ("DELETE", "/v1/tweets/123456789", None, None, 404, "TWEET_NOT_FOUND", None),
        # GET /v1/tweets/{tweet_id}/context
        ("GET", "/v1/tweets/abc/context", None, None, 400, "", None),
        ("GET", "/v1/tweets/0/context", None, None, 400, "", "tweet_id"),
        ("GET", "/v1/tweets/123456789/context", None, None, 404, "TWEET_NOT_FOUND", None),
        # GET /v1/users/{username}/tweets
        ("GET", "/v1/users/no-such-name!/tweets", None, None, 400, "", "username"),
        ("GET", "/v1/users/" + "u" * 16 + "/tweets", None, None, 400, "", "username"),
        ("GET", "/v1/users/nobody_at_all/tweets", None, None, 404, "USER_NOT_FOUND", None),
        ("GET", "/v1/users/{me}/tweets", None, {"page_size": "-1"}, 400, "", "page_size"),
        ("GET", "/v1/users/{me}/tweets", None, {"page_size": "101"}, 400, "", "page_size"),
        ("GET", "/v1/users/{me}/tweets", None, {"page_size": "many"}, 400, "", None),
        ("GET", "/v1/users/{me}/tweets", None, {"page_token": "not-ours"}, 400, "INVALID_PAGE_TOKEN", "page_token"),
        ("GET", "/v1/users/{me}/tweets", None, {"page_token": "9" * 513}, 400, "", "page_token"),
    ],
)
async def test_bad_input_is_a_4xx_with_a_reason(
    api: httpx.AsyncClient,
    someone: Account,
    method: str,
    path: str,
    body: Any,
    params: dict[str, str] | None,
    status: int,
    reason: str,
    field: str | None,
) -> None:
    answer = await api.request(
        method, path.format(me=someone.username), headers=someone.headers, json=body, params=params
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()
    assert error["message"]  # a reason a person can read
    if reason:
        assert error_reason(error) == reason
    if field is not None:
        assert field in violated_fields(error)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/tweets"), ("DELETE", "/v1/tweets/123456789")],
)
async def test_writes_need_a_signed_in_caller(api: httpx.AsyncClient, method: str, path: str) -> None:
    answer = await api.request(method, path, json={"text": "anonymous"} if method == "POST" else None)
    assert answer.status_code == 401
    assert answer.json()["code"] == 16


async def test_the_same_request_id_twice_makes_one_tweet_even_concurrently(api: httpx.AsyncClient) -> None:
    alice = await register_and_login(api, "idem")
    body = {"text": "only once, please", "request_id": new_username("req")}
    answers = await asyncio.gather(*(api.post("/v1/tweets", headers=alice.headers, json=body) for _ in range(5)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["id"] for a in answers}) == 1

    async def listed() -> list[str] | None:
        page = await _ok(await api.get(f"/v1/users/{alice.username}/tweets"))
        return [t["id"] for t in page["tweets"]] or None

    assert await eventually(listed, within=2.0) == [answers[0].json()["id"]]
