"""Tweet search: parse the query, ask the index, drop what the reader may not see, hydrate through the tweet
service.

Visibility is applied twice, on purpose. The index knows each tweet's author and whether the account was
protected, so anonymous readers never get protected accounts' tweets from it, and for a signed-in reader one
BatchGetRelationships per fetched page applies `services.graph.public.can_see` (blocks either way,
protected accounts they do not follow) before the page is filled. Then BatchGetTweets hydrates the survivors
as the reader and leaves out anything the tweet service's own current view hides (a tweet deleted a moment
ago, an account protected since it was indexed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chirp.tweet.v1 import tweet_pb2

from services.graph.public import can_see
from services.kit.errors import InvalidArgument
from services.search import pages, tokens
from services.search.peers import Peers
from services.search.query import QueryError, TweetQuery, parse
from services.search.tweet_index import Order, TweetFilter, TweetHit, TweetIndex

__all__ = ["DEFAULT_PAGE_SIZE", "TweetPage", "TweetSearch"]

DEFAULT_PAGE_SIZE = 20
_TOP_WINDOW = 100
_LATEST_BATCH = (20, 250)  # the fewest and most matches one fetch asks for


@dataclass(frozen=True, slots=True)
class TweetPage:
    tweets: list[tweet_pb2.Tweet]
    next_page_token: str


class TweetSearch:
    def __init__(self, index: TweetIndex, peers: Peers) -> None:
        self._index = index
        self._peers = peers

    async def search(
        self, q: str, *, order: Order, page_size: int, page_token: str, viewer_id: int | None
    ) -> TweetPage:
        """Raises InvalidArgument INVALID_QUERY for a malformed query, INVALID_PAGE_TOKEN for a foreign token."""
        try:
            query = parse(q)
        except QueryError as exc:
            raise InvalidArgument("INVALID_QUERY", str(exc), field="q") from exc
        # Anonymous readers page through a different set of matches (no protected accounts): their own tokens.
        reader = "anonymous" if viewer_id is None else "user"
        scope = f"tweets:{order.value}:{reader}:{query.fingerprint()}"
        cursor = tokens.decode(page_token, scope=scope)
        where = await self._filter(query, anonymous=viewer_id is None)
        if where is None:
            return TweetPage([], "")
        size = page_size or DEFAULT_PAGE_SIZE

        async def fetch(after: int | None, wanted: int) -> pages.Batch[TweetHit]:
            if order is Order.LATEST:
                limit = min(max(2 * wanted, _LATEST_BATCH[0]), _LATEST_BATCH[1])
                hits, more = await self._index.latest(where, before=after, limit=limit)
                return pages.Batch([(h, h.tweet_id) for h in hits], exhausted=not more)

            async def top_page(page: int, per_page: int) -> tuple[list[TweetHit], int]:
                return await self._index.top(where, page=page, per_page=per_page)

            return await pages.windowed(top_page, after or 0, window=_TOP_WINDOW)

        async def visible(hits: Sequence[TweetHit]) -> list[bool]:
            return await self._visible(viewer_id, hits)

        picked, next_cursor = await pages.fill(size=size, cursor=cursor, fetch=fetch, visible=visible)
        tweets = await self._peers.tweets([h.tweet_id for h in picked]) if picked else []
        token = "" if next_cursor is None else tokens.encode(next_cursor, scope=scope)
        return TweetPage(tweets, token)

    async def _filter(self, query: TweetQuery, *, anonymous: bool) -> TweetFilter | None:
        """The index filter of `query`; None when nothing can match (no day between since and until, several
        authors, an unknown author)."""
        if query.empty_range or len(query.authors) > 1:
            return None
        author_id = None
        if query.authors:
            author_id = await self._peers.user_id(query.authors[0])
            if author_id is None:
                return None
        return TweetFilter(
            text=query.text,
            hashtags=query.hashtags,
            author_id=author_id,
            since=query.since_seconds,
            until=query.until_seconds,
            public_only=anonymous,
        )

    async def _visible(self, viewer_id: int | None, hits: Sequence[TweetHit]) -> list[bool]:
        if viewer_id is None:
            return [True] * len(hits)  # the index already left protected accounts out; nobody blocks anonymous
        relationships = await self._peers.relationships(viewer_id, {h.author_id for h in hits} - {viewer_id})
        shown = []
        for hit in hits:
            relationship = relationships.get(hit.author_id)
            if hit.author_id == viewer_id:
                shown.append(True)
            elif relationship is None:
                shown.append(False)  # the graph answers every id; one missing is hidden, not shown by mistake
            else:
                shown.append(
                    can_see(
                        viewer_id,
                        owner_id=hit.author_id,
                        owner_protected=hit.author_protected,
                        relationship=relationship,
                    )
                )
        return shown
