"""Reading tweets: one tweet, batches, a conversation around a tweet, and a user's tweets, as a reader sees them.

Every read goes through the hydrator's scene, so the same visibility rule decides each path: a tweet the
reader may not see is answered as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chirp.tweet.v1 import tweet_pb2
from chirp.user.v1 import user_pb2

from services.graph.public import check_can_see
from services.kit import errors, paging
from services.tweet.hydrate import Hydrator
from services.tweet.peers import Peers
from services.tweet.store import StoredTweet, TweetStore
from services.tweet.writing import Posted

__all__ = ["MAX_DESCENDANTS", "Batch", "Context", "Page", "Reader"]

MAX_DESCENDANTS = 100


@dataclass(frozen=True)
class Context:
    tweet: tweet_pb2.Tweet
    ancestors: list[tweet_pb2.Tweet]
    descendants: list[tweet_pb2.Tweet]


@dataclass(frozen=True)
class Batch:
    tweets: list[tweet_pb2.Tweet]
    relationships: dict[int, user_pb2.Relationship]  # the reader's, with each author the tweets show


@dataclass(frozen=True)
class Page:
    tweets: list[tweet_pb2.Tweet]
    next_page_token: str


class Reader:
    def __init__(self, *, store: TweetStore, peers: Peers) -> None:
        self._store = store
        self._peers = peers
        self._hydrator = Hydrator(store, peers)

    async def tweet(self, tweet_id: int, *, viewer_id: int | None) -> tweet_pb2.Tweet:
        """Raises NotFound TWEET_NOT_FOUND if it does not exist or the reader may not see it."""
        stored = await self._store.get(tweet_id)
        if stored is None:
            raise _not_found(tweet_id)
        scene = await self._hydrator.load([stored], viewer_id=viewer_id)
        shown = await scene.render([stored])
        if not shown:
            raise _not_found(tweet_id)
        return shown[0]

    async def posted(self, posted: Posted, *, viewer_id: int) -> tweet_pb2.Tweet:
        """A tweet just written, as its writer sees it, reusing what the write read."""
        scene = await self._hydrator.load(
            [posted.tweet], viewer_id=viewer_id, known_users=posted.users, known_relationships=posted.relationships
        )
        shown = await scene.render([posted.tweet])
        if not shown:  # the retweeted tweet went away in the meantime
            raise _not_found(posted.tweet.id)
        return shown[0]

    async def batch(self, tweet_ids: Sequence[int], *, viewer_id: int | None) -> list[tweet_pb2.Tweet]:
        return (await self.hydrated(tweet_ids, viewer_id=viewer_id)).tweets

    async def hydrated(self, tweet_ids: Sequence[int], *, viewer_id: int | None) -> Batch:
        """The tweets the reader may see, in order, with the reader's relationship with each author shown."""
        found = await self._store.get_many(tweet_ids)
        ordered = [found[i] for i in tweet_ids if i in found]
        if not ordered:
            return Batch([], {})
        scene = await self._hydrator.load(ordered, viewer_id=viewer_id)
        tweets = await scene.render(ordered)
        shown = {t.author.id for t in tweets}
        shown |= {t.retweeted_tweet.author.id for t in tweets} | {t.quoted_tweet.author.id for t in tweets}
        shown |= {t.retweeted_tweet.quoted_tweet.author.id for t in tweets}
        relationships = {a: r for a, r in scene.relationships.items() if a in shown and a != viewer_id}
        return Batch(tweets, relationships)

    async def user_tweets(self, username: str, *, viewer_id: int | None, page_size: int, page_token: str) -> Page:
        """Raises NotFound USER_NOT_FOUND, PermissionDenied ACCOUNT_PROTECTED or BLOCKED."""
        size = paging.page_size(page_size)
        cursor = paging.parse_token(page_token)
        author = await self._peers.user_named(username)
        rows = await self._store.by_author(author.id, before=cursor, limit=size)
        scene = await self._hydrator.load(
            rows, viewer_id=viewer_id, also_users=[author.id], known_users={author.id: author}
        )
        check_can_see(
            viewer_id, owner_id=author.id, owner_protected=author.protected, relationship=scene.relationship(author.id)
        )
        return Page(await scene.render(rows), paging.next_token([t.id for t in rows], size=size))

    async def context(self, tweet_id: int, *, viewer_id: int | None) -> Context:
        """Raises NotFound TWEET_NOT_FOUND if the tweet does not exist or the reader may not see it."""
        stored = await self._store.get(tweet_id)
        if stored is not None and stored.is_retweet:
            stored = await self._store.get(stored.retweet_of_id)
        if stored is None:
            raise _not_found(tweet_id)
        found = await self._store.get_many(stored.ancestor_ids)
        ancestors = [found[i] for i in stored.ancestor_ids if i in found]
        descendants = await self._descendants(stored.id)
        scene = await self._hydrator.load([stored, *ancestors, *descendants], viewer_id=viewer_id)
        if not scene.shown(stored):
            raise _not_found(tweet_id)
        hidden: set[int] = set()
        below = []
        for reply in descendants:  # depth first: a reply comes after its parent
            if reply.reply_to_tweet_id in hidden or not scene.shown(reply):
                hidden.add(reply.id)  # and so is everything below it
            else:
                below.append(reply)
        shown_ancestors = [a for a in ancestors if scene.shown(a)]
        rendered = await scene.render([stored, *shown_ancestors, *below])
        return Context(
            tweet=rendered[0],
            ancestors=rendered[1 : 1 + len(shown_ancestors)],
            descendants=rendered[1 + len(shown_ancestors) :],
        )

    async def author_tweet_ids(self, author_ids: Sequence[int], *, max_id: int, limit: int) -> list[int]:
        return await self._store.ids_by_authors(author_ids, before=max_id or None, limit=limit)

    async def _descendants(self, tweet_id: int) -> list[StoredTweet]:
        """The replies below `tweet_id`, depth first, each level oldest first, at most MAX_DESCENDANTS."""
        found: list[StoredTweet] = []

        async def visit(parent_id: int) -> None:
            for reply in await self._store.replies(parent_id, limit=MAX_DESCENDANTS - len(found)):
                if len(found) >= MAX_DESCENDANTS:
                    return
                found.append(reply)
                await visit(reply.id)

        await visit(tweet_id)
        return found


def _not_found(tweet_id: int) -> errors.NotFound:
    return errors.NotFound("TWEET_NOT_FOUND", f"tweet {tweet_id} does not exist")
