"""The tweets collection: writes that stay right whatever order events arrive in, and the two searches.

Writes converge because no write ever undoes a deletion:

- a new tweet is added only if its id is not there yet (`create`): a redelivery, or a creation handled after
  an engagement refresh or a deletion, changes nothing;
- refreshes (engagement, backfill) `emplace` a whole document built from the owning services' current state:
  they create it if missing and otherwise overwrite every field they carry, which never includes `deleted`;
- a deletion `emplace`s `deleted: true`, leaving a tombstone every search filters out, so a creation or
  refresh handled after it cannot bring the tweet back.

Counters are always set from the source of truth, never incremented, so redeliveries do not double-count.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from services.search.typesense import Document, Typesense, TypesenseError

__all__ = ["Order", "TweetFilter", "TweetHit", "TweetIndex"]

log = logging.getLogger(__name__)

_HIT_FIELDS = "tweet_id,author_id,author_protected"
_BATCH = 250  # Typesense's largest page


class Order(Enum):
    LATEST = "latest"
    TOP = "top"


@dataclass(frozen=True, slots=True)
class TweetHit:
    tweet_id: int
    author_id: int
    author_protected: bool


@dataclass(frozen=True, slots=True)
class TweetFilter:
    """What a tweet search asks the index for. Every value here is already validated: ids are ints, hashtags
    are word characters only, so nothing a caller typed reaches `filter_by` unchecked."""

    text: str = "*"
    hashtags: tuple[str, ...] = ()
    author_id: int | None = None
    since: int | None = None  # Unix seconds, inclusive
    until: int | None = None  # Unix seconds, exclusive
    public_only: bool = False  # anonymous readers see no protected account's tweets

    def clauses(self) -> list[str]:
        clauses = ["deleted:!=true"]
        clauses += [f"hashtags:=[{tag}]" for tag in self.hashtags]  # one clause each: every tag must be there
        if self.author_id is not None:
            clauses.append(f"author_id:={self.author_id}")
        if self.since is not None:
            clauses.append(f"created_at:>={self.since}")
        if self.until is not None:
            clauses.append(f"created_at:<{self.until}")
        if self.public_only:
            clauses.append("author_protected:false")
        return clauses


class TweetIndex:
    def __init__(self, typesense: Typesense, collection: str) -> None:
        self._ts = typesense
        self.collection = collection

    async def add(self, document: Document) -> bool:
        """Index a new tweet unless its id is already there (see the module docstring); True if added."""
        (result,) = await self._ts.import_documents(self.collection, [document], action="create")
        if result.ok:
            return True
        if result.code == 409:
            return False
        raise TypesenseError(result.code, result.error)

    async def put(self, documents: Sequence[Document]) -> None:
        """Create or overwrite these documents' fields, keeping any tombstone."""
        for result in await self._ts.import_documents(self.collection, documents, action="emplace"):
            if not result.ok:
                raise TypesenseError(result.code, result.error)

    async def tombstone(self, tweet_id: int) -> None:
        await self.put([{"id": str(tweet_id), "tweet_id": tweet_id, "deleted": True}])

    async def get(self, tweet_id: int) -> Document | None:
        """The indexed document, None if absent or deleted."""
        document = await self._ts.get_document(self.collection, str(tweet_id))
        if document is None or document.get("deleted") is True:
            return None
        return document

    async def set_author_protected(self, author_id: int, protected: bool) -> set[str]:
        """Mark every indexed tweet of the author with their current `protected` setting; answers the hashtags
        of the tweets that changed (their public counts changed with them)."""
        other = "false" if protected else "true"
        changed: set[str] = set()
        while True:
            page = await self._ts.search(
                self.collection,
                {
                    "q": "*",
                    "query_by": "text",
                    "filter_by": f"author_id:={author_id} && author_protected:{other}",
                    "include_fields": "id,hashtags",
                    "per_page": _BATCH,
                },
            )
            if not page.documents:
                return changed
            updates = [{"id": d["id"], "author_protected": protected} for d in page.documents]
            for result in await self._ts.import_documents(self.collection, updates, action="update"):
                if not result.ok and result.code != 404:  # 404: deleted meanwhile (a tombstone is not one)
                    raise TypesenseError(result.code, result.error)
            for document in page.documents:
                changed.update(document.get("hashtags", []))
            log.info("author %s: %d tweets marked protected=%s", author_id, len(updates), protected)

    async def count_public(self, hashtag: str) -> int:
        """How many live tweets of public accounts carry `hashtag` (a word-characters-only name)."""
        result = await self._ts.search(
            self.collection,
            {
                "q": "*",
                "query_by": "text",
                "filter_by": f"hashtags:=[{hashtag}] && deleted:!=true && author_protected:false",
                "per_page": 0,
            },
        )
        return result.found

    async def latest(self, where: TweetFilter, *, before: int | None, limit: int) -> tuple[list[TweetHit], bool]:
        """Up to `limit` matches with ids below `before`, newest first; and whether more follow."""
        clauses = where.clauses()
        if before is not None:
            clauses.append(f"tweet_id:<{before}")
        result = await self._ts.search(
            self.collection, self._params(where, clauses, sort="tweet_id:desc", page=1, per_page=limit)
        )
        hits = [_hit(d) for d in result.documents]
        return hits, result.found > len(hits)

    async def top(self, where: TweetFilter, *, page: int, per_page: int) -> tuple[list[TweetHit], int]:
        """Page `page` (from 1) of the matches, best first; and how many match in all."""
        # Text relevance first, then the stored engagement-and-recency score (see documents.top_score).
        sort = "top_score:desc,tweet_id:desc"
        if where.text != "*":
            sort = "_text_match:desc," + sort
        result = await self._ts.search(
            self.collection, self._params(where, where.clauses(), sort=sort, page=page, per_page=per_page)
        )
        return [_hit(d) for d in result.documents], result.found

    @staticmethod
    def _params(where: TweetFilter, clauses: list[str], *, sort: str, page: int, per_page: int) -> dict[str, str | int]:
        return {
            "q": where.text,
            "query_by": "text",
            "filter_by": " && ".join(clauses),
            "sort_by": sort,
            "include_fields": _HIT_FIELDS,
            "page": page,
            "per_page": per_page,
            # Every word must match (Typesense would otherwise drop words until something matches); whole
            # words, not prefixes; up to two typos per word, tried only when the exact words find nothing.
            "drop_tokens_threshold": 0,
            "prefix": "false",
            "num_typos": 2,
            "typo_tokens_threshold": 1,
            # A tweet that is nothing but the query is not a better match than one that also says more.
            "prioritize_exact_match": "false",
            "highlight_fields": "none",
        }


def _hit(document: Document) -> TweetHit:
    return TweetHit(
        tweet_id=int(document["tweet_id"]),
        author_id=int(document.get("author_id", 0)),
        author_protected=bool(document.get("author_protected", False)),
    )
