"""The authorization matrix: every relationship a viewer can have to an author, against every read path of the core.

Each relationship is set up once, through the public REST API only: an author who posted one tweet (liked,
retweeted and followed by a third user, so every list has an entry), and a viewer related to them in one way.
Then every read path is asked as that viewer, and must answer exactly what the rule in
services/graph/public.py says: blocks (either way) hide everything, a protected account shows its tweets
and lists to approved followers only, and mutes hide nothing on these paths (they only filter the muter's home
timeline and notifications).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from tests.e2e.client import Account, eventually, register_and_login

# What each path answers when the viewer may see the author, and when not. Single tweets and the lists that
# hang off one tweet do not admit the tweet exists (404); a user's timeline and lists say why (403).
PATHS = {
    "tweet": ("/v1/tweets/{tweet}", 404),
    "context": ("/v1/tweets/{tweet}/context", 404),
    "likers": ("/v1/tweets/{tweet}/likers", 404),
    "retweeters": ("/v1/tweets/{tweet}/retweeters", 404),
    "user_tweets": ("/v1/users/{author}/tweets", 403),
    "followers": ("/v1/users/{author}/followers", 403),
    "following": ("/v1/users/{author}/following", 403),
}

# relationship → may the viewer see the author's content?
RELATIONSHIPS = {
    "stranger_public": True,
    "anonymous_public": True,
    "muting_public": True,
    "stranger_protected": False,
    "anonymous_protected": False,
    "follower_protected": True,
    "blocking": False,
    "blocked_by": False,
    "follower_then_blocked_by": False,
}


@dataclass(frozen=True)
class Scene:
    author: Account
    fan: Account  # likes and retweets the tweet, follows the author and is followed back
    viewer: Account | None  # None: an anonymous reader
    tweet_id: str


async def _ok(answer: httpx.Response) -> None:
    assert answer.status_code == 200, answer.text


async def _scene(api: httpx.AsyncClient, relationship: str) -> Scene:
    author = await register_and_login(api, "auth")
    fan = await register_and_login(api, "fan")
    protected = relationship.endswith("_protected")
    tweet = await api.post("/v1/tweets", headers=author.headers, json={"text": f"matrix {relationship}"})
    await _ok(tweet)
    tweet_id = tweet.json()["id"]
    await _ok(await api.post(f"/v1/users/{author.username}:follow", headers=fan.headers))
    await _ok(await api.post(f"/v1/tweets/{tweet_id}:like", headers=fan.headers))
    await _ok(await api.post(f"/v1/tweets/{tweet_id}:retweet", headers=fan.headers))
    await _ok(await api.post(f"/v1/users/{fan.username}:follow", headers=author.headers))

    viewer = None if relationship.startswith("anonymous") else await register_and_login(api, "view")
    if viewer is not None:
        if relationship in ("follower_protected", "follower_then_blocked_by"):
            await _ok(await api.post(f"/v1/users/{author.username}:follow", headers=viewer.headers))
        if relationship == "muting_public":
            await _ok(await api.post(f"/v1/users/{author.username}:mute", headers=viewer.headers))
        if relationship == "blocking":
            await _ok(await api.post(f"/v1/users/{author.username}:block", headers=viewer.headers))
        if relationship in ("blocked_by", "follower_then_blocked_by"):
            await _ok(await api.post(f"/v1/users/{viewer.username}:block", headers=author.headers))
    if protected:
        await _ok(await api.patch("/v1/me", headers=author.headers, json={"protected": True}))
    return Scene(author=author, fan=fan, viewer=viewer, tweet_id=tweet_id)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def scenes(api: httpx.AsyncClient) -> dict[str, Scene]:
    return {relationship: await _scene(api, relationship) for relationship in RELATIONSHIPS}


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("relationship", sorted(RELATIONSHIPS))
async def test_read_path_answers_what_the_rule_says(
    api: httpx.AsyncClient, scenes: dict[str, Scene], relationship: str, path: str
) -> None:
    scene = scenes[relationship]
    template, refused = PATHS[path]
    url = template.format(tweet=scene.tweet_id, author=scene.author.username)
    headers = scene.viewer.headers if scene.viewer else {}
    answer = await api.get(url, headers=headers)
    if RELATIONSHIPS[relationship]:
        assert answer.status_code == 200, f"{relationship} {path}: {answer.text}"
        body = answer.json()
        if path == "tweet":
            assert body["id"] == scene.tweet_id
        elif path == "user_tweets":
            assert scene.tweet_id in [t["id"] for t in body["tweets"]]
        elif path in ("likers", "retweeters", "followers", "following"):
            assert scene.fan.username in [u["username"] for u in body["users"]], body
    else:
        assert answer.status_code == refused, f"{relationship} {path}: {answer.text}"
        assert "matrix" not in answer.text  # nothing of the tweet's content leaks into the refusal


async def test_the_viewers_home_timeline_drops_an_author_who_blocks_them(api: httpx.AsyncClient) -> None:
    author = await register_and_login(api, "blk")
    reader = await register_and_login(api, "rdr")
    await _ok(await api.post(f"/v1/users/{author.username}:follow", headers=reader.headers))
    tweet_id = (await api.post("/v1/tweets", headers=author.headers, json={"text": "soon hidden"})).json()["id"]

    async def home_ids() -> list[str]:
        answer = await api.get("/v1/timelines/home", headers=reader.headers)
        return [t["id"] for t in answer.json()["tweets"]]

    async def shown() -> bool | None:
        return True if tweet_id in await home_ids() else None

    await eventually(shown, within=2.0)
    await _ok(await api.post(f"/v1/users/{reader.username}:block", headers=author.headers))
    assert tweet_id not in await home_ids()
