"""The three Typesense collections and their fields, designed from the queries that read them.

    tweets     full-text `text` (typos, phrases); filters: hashtags, author_id, created_at, tweet_id (the
               LATEST cursor), author_protected (anonymous readers), deleted; sorts: tweet_id (LATEST),
               top_score (TOP). Counters are kept for the TOP score and for debugging.
    users      prefix search over username and display_name; exact username_key; discoverable filter;
               sort by follower_count.
    hashtags   prefix search over name; sort by tweet_count.

Document ids are the Chirp ids as strings (hashtags: the name's UTF-8 in hex, see documents). Every tweet field
but `tweet_id` is optional because a deletion may arrive before its creation: it leaves a tombstone holding only
`tweet_id` and `deleted`, which later writes keep (see index).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from services.kit.config import StartupError
from services.kit.errors import Unavailable
from services.search.typesense import Typesense, TypesenseError

__all__ = [
    "PREFIX_CANDIDATES",
    "Collections",
    "ensure_collections",
    "hashtags_schema",
    "prepare",
    "tweets_schema",
    "users_schema",
]

log = logging.getLogger(__name__)

# How many indexed words a prefix query may expand to (Typesense's `max_candidates`, 4 by default). People and
# hashtag search sort by followers and use, not text match: with the default, `jo` looked at four of the
# usernames starting with it and could leave out the most followed. Raising it costs time only for prefixes that
# many words share.
PREFIX_CANDIDATES = 1000


@dataclass(frozen=True, slots=True)
class Collections:
    tweets: str
    users: str
    hashtags: str

    @classmethod
    def with_prefix(cls, prefix: str) -> Collections:
        return cls(tweets=f"{prefix}tweets", users=f"{prefix}users", hashtags=f"{prefix}hashtags")


def _field(name: str, kind: str, *, optional: bool = True, index: bool = True) -> dict[str, Any]:
    return {"name": name, "type": kind, "optional": optional, "index": index}


def tweets_schema(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "fields": [
            _field("tweet_id", "int64", optional=False),
            _field("author_id", "int64"),
            _field("author_protected", "bool"),
            _field("text", "string"),
            _field("hashtags", "string[]"),
            _field("created_at", "int64"),  # Unix seconds
            _field("like_count", "int32"),
            _field("retweet_count", "int32"),
            _field("reply_count", "int32"),
            _field("quote_count", "int32"),
            _field("top_score", "int64"),
            _field("deleted", "bool"),
        ],
    }


def users_schema(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "fields": [
            _field("user_id", "int64", optional=False),
            _field("username", "string", optional=False),
            _field("username_key", "string", optional=False),  # lower case, for the exact match
            _field("display_name", "string"),
            _field("discoverable", "bool"),
            _field("protected", "bool"),
            _field("follower_count", "int32"),
        ],
    }


def hashtags_schema(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "fields": [
            {**_field("name", "string", optional=False), "sort": True},  # ties in tweet_count page by name
            _field("tweet_count", "int32", optional=False),
        ],
    }


async def ensure_collections(typesense: Typesense, collections: Collections) -> list[str]:
    """Create the collections that are missing (adding fields new code needs); the names of those created."""
    created = []
    for schema in (
        tweets_schema(collections.tweets),
        users_schema(collections.users),
        hashtags_schema(collections.hashtags),
    ):
        if await typesense.ensure_collection(schema):
            created.append(str(schema["name"]))
    return created


async def prepare(typesense: Typesense, collections: Collections, *, url: str, within: float = 30.0) -> None:
    """Wait for Typesense to be ready (it elects itself leader a few seconds after it starts answering), then
    ensure the collections. Raises StartupError naming the variable to fix."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            if await typesense.healthy():
                created = await ensure_collections(typesense, collections)
                if created:
                    log.info("created collections %s", created)
                return
            problem = "not ready"
        except Unavailable as exc:
            problem = exc.message
        except TypesenseError as exc:
            if exc.status in (401, 403):
                raise StartupError(f"CHIRP_TYPESENSE_API_KEY: Typesense at {url} refused it ({exc.message})") from exc
            raise StartupError(f"CHIRP_TYPESENSE_URL={url}: cannot create the collections: {exc}") from exc
        if loop.time() > deadline:
            raise StartupError(f"CHIRP_TYPESENSE_URL={url}: Typesense not ready within {within:g}s: {problem}")
        await asyncio.sleep(0.5)
