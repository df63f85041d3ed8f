"""Home timelines end to end through the REST gateway, on a stack of this module's own where an account with
3 followers is famous (CHIRP_FAMOUS_FOLLOWERS=3): the push path, the pull path, an inactive reader's
rebuild, follows, unfollows, blocks, deletes, mutes, retweets shown once, paging while tweets arrive, and an
evicted timeline rebuilt to the same content.

The cache is looked at directly (stack.redis_url) only to prove how a tweet travelled: pushed into a
follower's cached timeline, or pulled at read time without being pushed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from stack import Settings, Stack
from tests.e2e.client import Account, eventually, register_and_login

pytestmark = pytest.mark.asyncio(loop_scope="session")

FAMOUS = 3
_DELIVERY_S = 10.0  # generous: the machine is shared; the fan-out usually takes milliseconds


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def timelines_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("timelines"),
        free_ports=True,
        rate_limit_per_second=100_000,
        rate_limit_burst=100_000,
        service_env={
            "CHIRP_FAMOUS_FOLLOWERS": str(FAMOUS),
            # Registration is not what is tested here: cheap password hashing keeps the module fast.
            "CHIRP_AUTH_ARGON2_TIME_COST": "1",
            "CHIRP_AUTH_ARGON2_MEMORY_KIB": "1024",
        },
    )
    async with Stack(settings) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def api(timelines_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=timelines_stack.edge_url, timeout=15) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def redis(timelines_stack: Stack) -> AsyncIterator[Redis]:
    client = Redis.from_url(timelines_stack.redis_url)
    yield client
    await client.aclose()


# --- helpers --------------------------------------------------------------------------------------------------


async def _users(api: httpx.AsyncClient, n: int, prefix: str) -> list[Account]:
    return list(await asyncio.gather(*(register_and_login(api, prefix) for _ in range(n))))


async def _act(api: httpx.AsyncClient, who: Account, action: str, whom: Account) -> None:
    answer = await api.post(f"/v1/users/{whom.username}:{action}", headers=who.headers)
    assert answer.status_code == 200, answer.text


async def _follow(api: httpx.AsyncClient, followee: Account, *followers: Account) -> None:
    for follower in followers:
        await _act(api, follower, "follow", followee)


async def _post(api: httpx.AsyncClient, author: Account, text: str = "hello") -> str:
    answer = await api.post("/v1/tweets", headers=author.headers, json={"text": text})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


async def _retweet(api: httpx.AsyncClient, who: Account, tweet_id: str) -> None:
    answer = await api.post(f"/v1/tweets/{tweet_id}:retweet", headers=who.headers)
    assert answer.status_code == 200, answer.text


async def _page(
    api: httpx.AsyncClient, reader: Account, *, size: int = 100, token: str = ""
) -> tuple[list[dict[str, Any]], str]:
    params = {"page_size": size, "page_token": token}
    answer = await api.get("/v1/timelines/home", headers=reader.headers, params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body.get("tweets", []), body.get("next_page_token", "")


def _shown(tweet: dict[str, Any]) -> str:
    """What a timeline entry shows: the tweet's id, or for a retweet `rt:` and the original's id."""
    retweeted = tweet.get("retweeted_tweet")
    return f"rt:{retweeted['id']}" if retweeted else str(tweet["id"])


async def _home(api: httpx.AsyncClient, reader: Account) -> list[str]:
    """What the first page (up to 100) of the reader's home timeline shows (see _shown)."""
    return [_shown(t) for t in (await _page(api, reader))[0]]


async def _all(api: httpx.AsyncClient, reader: Account, *, size: int) -> list[str]:
    seen: list[str] = []
    token = ""
    while True:
        tweets, token = await _page(api, reader, size=size, token=token)
        seen += [t["id"] for t in tweets]
        if not token:
            return seen


async def _shows(api: httpx.AsyncClient, reader: Account, expected: list[str]) -> None:
    """Wait until the reader's first page is exactly `expected`."""

    async def check() -> bool | None:
        return True if await _home(api, reader) == expected else None

    try:
        await eventually(check, within=_DELIVERY_S)
    except AssertionError:
        raise AssertionError(f"home timeline {await _home(api, reader)} never became {expected}") from None


async def _follower_count(api: httpx.AsyncClient, account: Account, count: int) -> None:
    """Wait until the user service counted `count` followers (what the famous rule reads)."""

    async def check() -> bool | None:
        answer = await api.get(f"/v1/users/{account.username}")
        return True if answer.json().get("follower_count", 0) == count else None

    await eventually(check, within=_DELIVERY_S)


async def _make_famous(api: httpx.AsyncClient, redis: Redis, star: Account) -> str:
    """Wait until the fan-out pulls `star`'s tweets instead of pushing them; returns the tweet posted for it.

    The star must have FAMOUS followers. The fan-out promotes an author on the classification service's
    class-change event, or (while that service is not deployed) when it counts the followers at the author's
    next tweet: a first tweet and a wait on the fan-out's record of famous authors cover both.
    """
    await _follower_count(api, star, FAMOUS)
    first = await _post(api, star, "now famous")

    async def promoted() -> bool | None:
        return True if await redis.hexists("timeline:famous", _id(star)) else None

    await eventually(promoted, within=_DELIVERY_S)
    return first


async def _cached(redis: Redis, reader: Account) -> list[str] | None:
    """The ids in the reader's cached home timeline; None if they have none (inactive)."""
    key = f"timeline:{{{reader.user['id']}}}:home"
    if not await redis.exists(key):
        return None
    return [str(int(m)) for m in await redis.zrevrangebylex(key, b"+", b"(" + b"0" * 19)]


def _id(user: Account) -> str:
    return str(user.user["id"])


# --- push, pull, inactive -------------------------------------------------------------------------------------


async def test_an_ordinary_authors_tweet_is_pushed_into_active_followers_timelines(
    api: httpx.AsyncClient, redis: Redis
) -> None:
    author, reader = await _users(api, 2, "push")
    await _follow(api, author, reader)
    await _shows(api, reader, [])  # the first read builds the reader's cached timeline
    tweet = await _post(api, author)
    await _shows(api, reader, [tweet])
    assert await _cached(redis, reader) == [tweet]


async def test_a_famous_authors_tweet_is_pulled_at_read_time_without_being_pushed(
    api: httpx.AsyncClient, redis: Redis
) -> None:
    star, *fans = await _users(api, 1 + FAMOUS, "pull")
    await _follow(api, star, *fans)
    for fan in fans:
        await _home(api, fan)  # active readers, with cached timelines
    first = await _make_famous(api, redis, star)
    tweet = await _post(api, star, "famous words")
    for fan in fans:
        await _shows(api, fan, [tweet, first])
        assert tweet not in (await _cached(redis, fan) or [])  # never pushed
    page, _ = await _page(api, fans[0])
    assert page[0]["text"] == "famous words" and page[0]["author"]["id"] == _id(star)


async def test_an_inactive_follower_gets_no_push_and_a_rebuilt_timeline_on_return(
    api: httpx.AsyncClient, redis: Redis
) -> None:
    author, active, returning = await _users(api, 3, "idle")
    await _follow(api, author, active, returning)
    await _home(api, active)
    tweets = [await _post(api, author, f"while you were away {n}") for n in range(3)]
    await _shows(api, active, tweets[::-1])  # the fan-out is done
    assert await _cached(redis, returning) is None  # inactive: skipped
    assert await _home(api, returning) == tweets[::-1]  # rebuilt from the stores
    assert await _cached(redis, returning) == tweets[::-1]


async def test_an_evicted_timeline_rebuilds_to_the_same_content(api: httpx.AsyncClient, redis: Redis) -> None:
    reader, a, b = await _users(api, 3, "evict")
    await _follow(api, a, reader)
    await _follow(api, b, reader)
    await _home(api, reader)
    posted = [await _post(api, who, f"tweet {n}") for n, who in enumerate((a, b, a, b, a))]
    await _retweet(api, b, posted[0])  # a retweet of a tweet already shown
    stranger = (await _users(api, 1, "evs"))[0]
    liked = await _post(api, stranger, "retweeted twice")
    await _retweet(api, a, liked)
    await _retweet(api, b, liked)  # two followees retweeting the same tweet
    own = await _post(api, reader, "mine")

    async def settled() -> list[str] | None:
        pushed = await _all(api, reader, size=3)
        return pushed if len(pushed) == 7 else None

    pushed = await eventually(settled, within=_DELIVERY_S)
    assert pushed[0] == own and pushed[2:] == posted[::-1]
    pushed_cache = await _cached(redis, reader)
    await redis.delete(*(f"timeline:{{{_id(reader)}}}:{part}" for part in ("home", "groups", "famous")))
    assert await _all(api, reader, size=3) == pushed
    assert await _cached(redis, reader) == pushed_cache


# --- follow, unfollow, block, delete, mute --------------------------------------------------------------------


async def test_a_follow_brings_the_followees_recent_tweets_in(api: httpx.AsyncClient) -> None:
    reader, author = await _users(api, 2, "flw")
    earlier = [await _post(api, author, f"before you came {n}") for n in range(2)]
    await _shows(api, reader, [])
    await _follow(api, author, reader)
    await _shows(api, reader, earlier[::-1])


async def test_an_unfollow_takes_the_authors_tweets_out(api: httpx.AsyncClient, redis: Redis) -> None:
    reader, author, friend = await _users(api, 3, "unf")
    await _follow(api, author, reader)
    await _follow(api, friend, reader)
    await _home(api, reader)
    gone, kept = await _post(api, author), await _post(api, friend)
    await _shows(api, reader, [kept, gone])
    await _act(api, reader, "unfollow", author)
    assert await _home(api, reader) == [kept]  # at once

    async def removed() -> bool | None:
        return True if await _cached(redis, reader) == [kept] else None

    await eventually(removed, within=_DELIVERY_S)  # and out of the cache soon after


async def test_a_block_takes_each_ones_tweets_out_of_the_others_timeline(api: httpx.AsyncClient) -> None:
    blocker, blocked, friend = await _users(api, 3, "blk")
    for a, b in ((blocker, blocked), (blocked, blocker)):
        await _follow(api, a, b)
    await _follow(api, friend, blocker)
    await _follow(api, friend, blocked)
    await _home(api, blocker)
    await _home(api, blocked)
    by_blocker, by_blocked, by_friend = await _post(api, blocker), await _post(api, blocked), await _post(api, friend)
    await _shows(api, blocker, [by_friend, by_blocked, by_blocker])
    await _shows(api, blocked, [by_friend, by_blocked, by_blocker])
    await _retweet(api, friend, by_blocked)  # the friend's retweet of the blocked user's tweet
    await _act(api, blocker, "block", blocked)
    await _shows(api, blocker, [by_friend, by_blocker])
    await _shows(api, blocked, [by_friend, by_blocked])


async def test_a_deleted_tweet_leaves_every_timeline(api: httpx.AsyncClient, redis: Redis) -> None:
    author, *readers = await _users(api, 3, "del")
    star_fans = await _users(api, FAMOUS, "delf")
    await _follow(api, author, *readers, *star_fans)  # famous too: pulled, and deleted from the pulled list
    await _follower_count(api, author, len(readers) + len(star_fans))
    for reader in readers:
        await _home(api, reader)
    doomed, kept = await _post(api, author, "doomed"), await _post(api, author, "kept")
    for reader in readers:
        await _shows(api, reader, [kept, doomed])
    answer = await api.delete(f"/v1/tweets/{doomed}", headers=author.headers)
    assert answer.status_code == 200, answer.text
    for reader in readers:
        await _shows(api, reader, [kept])


async def test_a_deleted_pushed_tweet_leaves_the_cache(api: httpx.AsyncClient, redis: Redis) -> None:
    author, reader = await _users(api, 2, "delp")
    await _follow(api, author, reader)
    await _home(api, reader)
    doomed = await _post(api, author, "doomed")
    await _shows(api, reader, [doomed])
    assert (await api.delete(f"/v1/tweets/{doomed}", headers=author.headers)).status_code == 200
    await _shows(api, reader, [])

    async def removed() -> bool | None:
        return True if await _cached(redis, reader) == [] else None

    await eventually(removed, within=_DELIVERY_S)


async def test_mutes_leave_out_the_muted_authors_tweets_and_retweets_of_muted_authors(api: httpx.AsyncClient) -> None:
    reader, muted, friend, loud = await _users(api, 4, "mut")
    await _follow(api, muted, reader)
    await _follow(api, friend, reader)
    await _home(api, reader)
    by_muted = await _post(api, muted, "you will not hear me")
    by_friend = await _post(api, friend, "hi")
    by_loud = await _post(api, loud, "nor me")
    await _retweet(api, friend, by_loud)  # the friend's retweet of a tweet by someone the reader will mute
    await _shows(api, reader, [f"rt:{by_loud}", by_friend, by_muted])
    await _act(api, reader, "mute", muted)
    await _act(api, reader, "mute", loud)
    assert await _home(api, reader) == [by_friend]
    await _act(api, reader, "unmute", muted)
    await _act(api, reader, "unmute", loud)
    assert await _home(api, reader) == [f"rt:{by_loud}", by_friend, by_muted]


async def test_a_retweet_of_an_account_that_turned_protected_leaves_non_followers_timelines(
    api: httpx.AsyncClient,
) -> None:
    reader, friend, private, approved = await _users(api, 4, "prot")
    await _follow(api, friend, reader)
    await _follow(api, private, approved)
    await _follow(api, friend, approved)
    for who in (reader, approved):
        await _home(api, who)
    tweet = await _post(api, private, "for my followers only, soon")
    await _retweet(api, friend, tweet)
    await _shows(api, reader, [f"rt:{tweet}"])
    await _shows(api, approved, [tweet])  # the original, so the retweet of it is not shown again
    answer = await api.patch("/v1/me", headers=private.headers, json={"protected": True})
    assert answer.status_code == 200, answer.text
    assert await _home(api, reader) == []  # the reader does not follow the now protected account
    assert await _home(api, approved) == [tweet]  # an approved follower still sees it


# --- retweets once ---------------------------------------------------------------------------------------------


async def test_a_retweet_of_a_tweet_already_shown_shows_once(api: httpx.AsyncClient) -> None:
    reader, author, friend = await _users(api, 3, "rt1")
    await _follow(api, author, reader)
    await _follow(api, friend, reader)
    await _home(api, reader)
    tweet = await _post(api, author, "worth repeating")
    await _shows(api, reader, [tweet])
    await _retweet(api, friend, tweet)
    later = await _post(api, friend, "something else")
    await _shows(api, reader, [later, tweet])


async def test_two_followees_retweeting_one_tweet_show_it_once_attributed(api: httpx.AsyncClient) -> None:
    reader, first, second, stranger = await _users(api, 4, "rt2")
    await _follow(api, first, reader)
    await _follow(api, second, reader)
    await _home(api, reader)
    tweet = await _post(api, stranger, "retweet me")
    await _retweet(api, first, tweet)
    await _retweet(api, second, tweet)
    marker = await _post(api, second, "after the retweets")

    async def settled() -> list[dict[str, Any]] | None:
        page, _ = await _page(api, reader)
        return page if page and page[0]["id"] == marker else None

    page = await eventually(settled, within=_DELIVERY_S)
    assert len(page) == 2
    retweet = page[1]
    assert retweet["retweeted_tweet"]["id"] == tweet
    assert retweet["author"]["id"] == _id(first)  # attributed to the first who retweeted it
    assert retweet["retweeted_tweet"]["author"]["id"] == _id(stranger)


# --- paging ---------------------------------------------------------------------------------------------------


async def test_paging_while_tweets_arrive_neither_skips_nor_repeats(api: httpx.AsyncClient, redis: Redis) -> None:
    reader, author = await _users(api, 2, "pag")
    star, *fans = await _users(api, FAMOUS, "pagf")  # famous: the pages merge pulled tweets too
    await _follow(api, author, reader)
    await _follow(api, star, reader, *fans)
    await _home(api, reader)
    posted = [await _make_famous(api, redis, star)]
    for n in range(8):
        posted += [await _post(api, author, f"pushed {n}"), await _post(api, star, f"pulled {n}")]
    expected = sorted(posted, key=int, reverse=True)
    await _shows(api, reader, expected)

    async def keep_posting() -> list[str]:
        made = []
        for n in range(10):
            made.append(await _post(api, author if n % 2 else star, f"meanwhile {n}"))
        return made

    posting = asyncio.create_task(keep_posting())
    seen: list[str] = []
    token = ""
    while True:
        tweets, token = await _page(api, reader, size=3, token=token)
        seen += [t["id"] for t in tweets]
        await asyncio.sleep(0.02)
        if not token:
            break
    meanwhile = await posting
    new = [i for i in seen if i in meanwhile]
    old = [i for i in seen if i not in meanwhile]
    assert old == expected, "an entry was skipped or repeated"
    assert new == sorted(new, key=int, reverse=True) and len(new) == len(set(new))
    assert seen == new + old  # new tweets only ever on the first page, above everything older
