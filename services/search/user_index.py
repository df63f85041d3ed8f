"""The users collection: profiles kept from the user service's current state, and the people search.

A profile document is always rebuilt from the user service (BatchGetUsers) rather than from the event that
announced a change, so however events are ordered or redelivered, the last one handled writes the latest
profile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chirp.user.v1 import user_pb2

from services.search.documents import user_document
from services.search.schema import PREFIX_CANDIDATES
from services.search.typesense import Typesense, TypesenseError

__all__ = ["USERNAME", "UserHit", "UserIndex", "prefix_text"]

USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")
_WORD = re.compile(r"\w")


@dataclass(frozen=True, slots=True)
class UserHit:
    user_id: int


def prefix_text(q: str) -> str:
    """`q` as a Typesense prefix query: without a leading `@`, and without what Typesense would read as an
    operator (quotes, a leading `-`); `+` separates words like a space (see query); empty when nothing
    searchable is left."""
    words = [w.lstrip("-") for w in q.removeprefix("@").replace('"', " ").replace("+", " ").split()]
    return " ".join(w for w in words if _WORD.search(w))


class UserIndex:
    def __init__(self, typesense: Typesense, collection: str) -> None:
        self._ts = typesense
        self.collection = collection

    async def put(self, users: list[user_pb2.User]) -> None:
        documents = [user_document(u) for u in users]
        for result in await self._ts.import_documents(self.collection, documents, action="upsert"):
            if not result.ok:
                raise TypesenseError(result.code, result.error)

    async def exact(self, username: str) -> UserHit | None:
        """The user whose username is `username` (ignoring case), discoverable or not."""
        if not USERNAME.fullmatch(username):
            return None
        result = await self._ts.search(
            self.collection,
            {
                "q": "*",
                "query_by": "username",
                "filter_by": f"username_key:={username.lower()}",
                "include_fields": "user_id",
                "per_page": 1,
            },
        )
        return UserHit(int(result.documents[0]["user_id"])) if result.documents else None

    async def prefix(self, text: str, *, page: int, per_page: int) -> tuple[list[UserHit], int]:
        """Page `page` (from 1) of the discoverable users whose username or a display-name word starts with
        the words of `text` (see prefix_text), most followed first; and how many match in all."""
        result = await self._ts.search(
            self.collection,
            {
                "q": text,
                "query_by": "username,display_name",
                "filter_by": "discoverable:true",
                "sort_by": "follower_count:desc,user_id:asc",
                "include_fields": "user_id",
                "prefix": "true",
                "num_typos": 0,
                "drop_tokens_threshold": 0,
                "max_candidates": PREFIX_CANDIDATES,
                "highlight_fields": "none",
                "page": page,
                "per_page": per_page,
            },
        )
        return [UserHit(int(d["user_id"])) for d in result.documents], result.found
