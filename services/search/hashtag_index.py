"""The hashtags collection: each hashtag with the number of live, public tweets that carry it.

A count is never incremented: it is recounted from the tweets collection (one filtered count) whenever a tweet
with the hashtag is added or deleted or its author's protection changes, and the result is set. Redeliveries
recount to the same number, and recounts run one at a time, so a slower, older recount cannot overwrite a
newer one. Tweets of protected accounts are not counted, and a hashtag no public tweet carries is removed, so
autocompletion never reveals what protected accounts write about.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from services.search.documents import hashtag_document, hashtag_id
from services.search.schema import PREFIX_CANDIDATES
from services.search.tweet_index import TweetIndex
from services.search.typesense import Typesense, TypesenseError

__all__ = ["HashtagIndex", "HashtagMatch", "prefix_of"]

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")


def prefix_of(q: str) -> str:
    """The hashtag prefix `q` asks for: lower case, without a leading `#`, up to the first character a hashtag
    cannot hold; empty when none is left (nothing can match)."""
    match = _WORD.match(q.removeprefix("#"))
    return match.group(0).lower() if match else ""


@dataclass(frozen=True, slots=True)
class HashtagMatch:
    name: str
    tweet_count: int


class HashtagIndex:
    def __init__(self, typesense: Typesense, collection: str, tweets: TweetIndex) -> None:
        self._ts = typesense
        self.collection = collection
        self._tweets = tweets
        self._recounting = asyncio.Lock()

    async def recount(self, names: Iterable[str]) -> None:
        """Set the count of each hashtag (word characters only, lower case) from the tweets collection."""
        wanted = [n for n in dict.fromkeys(names) if _WORD.fullmatch(n)]
        if not wanted:
            return
        async with self._recounting:
            counts = {name: await self._tweets.count_public(name) for name in wanted}
            present = [hashtag_document(n, c) for n, c in counts.items() if c > 0]
            for result in await self._ts.import_documents(self.collection, present, action="upsert"):
                if not result.ok:
                    raise TypesenseError(result.code, result.error)
            for name in (n for n, c in counts.items() if c == 0):
                await self._ts.delete_document(self.collection, hashtag_id(name))
        log.debug("hashtag counts %s", counts)

    async def prefix(self, prefix: str, *, page: int, per_page: int) -> tuple[list[HashtagMatch], int]:
        """Page `page` (from 1) of the hashtags starting with `prefix` (see prefix_of), the most used first;
        and how many match in all."""
        result = await self._ts.search(
            self.collection,
            {
                "q": prefix,
                "query_by": "name",
                "sort_by": "tweet_count:desc,name:asc",
                "prefix": "true",
                "num_typos": 0,
                "max_candidates": PREFIX_CANDIDATES,
                "highlight_fields": "none",
                "page": page,
                "per_page": per_page,
            },
        )
        matches = [HashtagMatch(str(d["name"]), int(d["tweet_count"])) for d in result.documents]
        return matches, result.found
