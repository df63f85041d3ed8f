"""Tweets as a reader sees them: stored rows turned into `Tweet` messages, what the reader may not see left out.

A page is hydrated in two steps, each a handful of batched calls however many tweets it holds:

1. `Hydrator.load` reads the rows a page embeds (the originals of retweets, the tweets quoted) and, at once,
   for every author on the page the user (BatchGetUsers) and the reader's relationship (one
   BatchGetRelationships), and for every row likes, retweets and the reader's own engagement (one
   BatchGetEngagement). The resulting `Scene` answers who the reader may see, by
   `services.graph.public.can_see`. Engagement is read with the rest, not after visibility is known, so a
   page waits for one round of calls instead of two; what it reads of tweets left out is dropped.
2. `Scene.render` reads, for the tweets that will be shown, the reply and quote counters (one query) and
   media (one BatchGetMedia, only when a tweet has media), and builds the messages.

A retweet is shown only when the reader may see both the retweeter and the original's author, and the
original still exists; a quoted tweet is embedded only when the reader may see it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chirp.engagement.v1 import engagement_pb2
from chirp.media.v1 import media_pb2
from chirp.tweet.v1 import tweet_pb2
from chirp.user.v1 import user_pb2

from services.graph.public import can_see
from services.kit.timestamps import to_timestamp
from services.tweet.peers import Peers
from services.tweet.store import Counters, StoredTweet, TweetStore
from services.user.public import summary_of

__all__ = ["Hydrator", "Scene", "expanded_url"]


def expanded_url(url: str) -> str:
    """The URL to open for a URL entity: as written, with `https://` when it has no scheme."""
    return url if url[:7].lower() == "http://" or url[:8].lower() == "https://" else "https://" + url


class Hydrator:
    def __init__(self, store: TweetStore, peers: Peers) -> None:
        self._store = store
        self._peers = peers

    async def load(
        self,
        stored: Iterable[StoredTweet],
        *,
        viewer_id: int | None,
        also_users: Iterable[int] = (),
        known_users: Mapping[int, user_pb2.User] | None = None,
        known_relationships: Mapping[int, user_pb2.Relationship] | None = None,
    ) -> Scene:
        """The scene of these tweets for `viewer_id` (None: anonymous). `also_users` are looked up too (a
        profile whose page may be empty); `known_*` were read already and are not asked for again."""
        rows = {t.id: t for t in stored}
        embedded = [t.retweet_of_id for t in rows.values() if t.is_retweet and t.retweet_of_id not in rows]
        rows.update(await self._store.get_many(embedded))
        quoted = [t.quote_tweet_id for t in rows.values() if t.quote_tweet_id and t.quote_tweet_id not in rows]
        rows.update(await self._store.get_many(quoted))

        authors = {t.author_id for t in rows.values()} | set(also_users)
        users = dict(known_users or {})
        relationships = dict(known_relationships or {})
        missing_users = [a for a in authors if a not in users]
        missing_relationships = [a for a in authors if a not in relationships and a != viewer_id]
        found_users, found_relationships, engagement = await asyncio.gather(
            self._peers.users(missing_users) if missing_users else _nothing(),
            self._peers.relationships(viewer_id, missing_relationships)
            if viewer_id is not None and missing_relationships
            else _nothing(),
            self._peers.engagement(rows) if rows else _nothing(),
        )
        users.update(found_users)
        relationships.update(found_relationships)
        return Scene(
            self._store,
            self._peers,
            viewer_id=viewer_id,
            rows=rows,
            users=users,
            relationships=relationships,
            engagement=engagement,
        )


async def _nothing() -> dict[int, Any]:
    """What a lookup with nothing to look up answers, awaited beside the real ones."""
    return {}


class Scene:
    """What one reader may see of a set of tweets (`rows`, embedded ones included), and how to render them."""

    def __init__(
        self,
        store: TweetStore,
        peers: Peers,
        *,
        viewer_id: int | None,
        rows: dict[int, StoredTweet],
        users: dict[int, user_pb2.User],
        relationships: dict[int, user_pb2.Relationship],
        engagement: dict[int, engagement_pb2.TweetEngagement],
    ) -> None:
        self._store = store
        self._peers = peers
        self.viewer_id = viewer_id
        self.rows = rows
        self.users = users
        self.relationships = relationships
        self._engagement = engagement  # of every row, read with the users: see the module docstring

    def relationship(self, user_id: int) -> user_pb2.Relationship | None:
        return self.relationships.get(user_id)

    def can_see_user(self, user_id: int) -> bool:
        """May the reader see what `user_id` posts? Unknown users are not seen."""
        user = self.users.get(user_id)
        if user is None:
            return False
        return can_see(
            self.viewer_id, owner_id=user_id, owner_protected=user.protected, relationship=self.relationship(user_id)
        )

    def shown(self, tweet: StoredTweet) -> bool:
        """Is `tweet` shown to the reader? A retweet needs its original, and the reader may see both authors."""
        if not self.can_see_user(tweet.author_id):
            return False
        if tweet.is_retweet:
            original = self.rows.get(tweet.retweet_of_id)
            return original is not None and self.can_see_user(original.author_id)
        return True

    def original(self, tweet: StoredTweet) -> StoredTweet:
        """The tweet whose text `tweet` shows: itself, or for a retweet the original (which must be loaded)."""
        return self.rows[tweet.retweet_of_id] if tweet.is_retweet else tweet

    def _quoted(self, tweet: StoredTweet) -> StoredTweet | None:
        quoted = self.rows.get(tweet.quote_tweet_id) if tweet.quote_tweet_id else None
        return quoted if quoted is not None and self.shown(quoted) else None

    async def render(self, tweets: Sequence[StoredTweet]) -> list[tweet_pb2.Tweet]:
        """`tweets` in order (repeats repeated) as messages, those the reader may not see left out."""
        shown = [t for t in tweets if self.shown(t)]
        # The tweets whose text, counters and engagement appear: originals and the tweets they quote.
        content: dict[int, StoredTweet] = {}
        for tweet in shown:
            original = self.original(tweet)
            content[original.id] = original
            quoted = self._quoted(original)
            if quoted is not None:
                content[quoted.id] = quoted
        media_ids = [m for t in content.values() for m in t.media_ids]
        counters, media = await asyncio.gather(
            self._store.counters(content),
            self._peers.media(media_ids) if media_ids else _nothing(),
        )
        look = _Lookups(counters=counters, engagement=self._engagement, media=media)
        return [self._message(t, look) for t in shown]

    def _message(self, tweet: StoredTweet, look: _Lookups) -> tweet_pb2.Tweet:
        if not tweet.is_retweet:
            return self._content(tweet, look, with_quote=True)
        message = self._frame(tweet)
        message.retweeted_tweet.CopyFrom(self._content(self.original(tweet), look, with_quote=True))
        return message

    def _frame(self, tweet: StoredTweet) -> tweet_pb2.Tweet:
        message = tweet_pb2.Tweet(
            id=tweet.id,
            created_at=to_timestamp(tweet.created_at),
            conversation_id=tweet.conversation_id,
        )
        author = self.users.get(tweet.author_id)
        if author is not None:
            message.author.CopyFrom(summary_of(author))
        return message

    def _content(self, tweet: StoredTweet, look: _Lookups, *, with_quote: bool) -> tweet_pb2.Tweet:
        message = self._frame(tweet)
        message.text = tweet.text
        message.reply_to_tweet_id = tweet.reply_to_tweet_id
        message.reply_to_user_id = tweet.reply_to_user_id
        message.quote_tweet_id = tweet.quote_tweet_id
        message.entities.CopyFrom(_entities(tweet.entities))
        message.media.extend(_attachment(look.media[m]) for m in tweet.media_ids if m in look.media)
        counters = look.counters.get(tweet.id, Counters())
        message.reply_count, message.quote_count = counters.replies, counters.quotes
        engagement = look.engagement.get(tweet.id)
        if engagement is not None:
            message.like_count, message.retweet_count = engagement.like_count, engagement.retweet_count
        if self.viewer_id is not None:
            viewer = message.viewer
            viewer.SetInParent()  # present, all false, for a signed-in reader even without engagement data
            if engagement is not None and engagement.HasField("viewer"):
                viewer.CopyFrom(engagement.viewer)
        if with_quote:
            quoted = self._quoted(tweet)
            if quoted is not None:
                message.quoted_tweet.CopyFrom(self._content(quoted, look, with_quote=False))
        return message


@dataclass(frozen=True)
class _Lookups:
    counters: dict[int, Counters]
    engagement: dict[int, engagement_pb2.TweetEngagement]
    media: dict[int, media_pb2.Media]


def _entities(stored: bytes) -> tweet_pb2.TweetEntities:
    entities = tweet_pb2.TweetEntities.FromString(stored)
    for url in entities.urls:
        if not url.expanded_url:  # tweets stored before expanded URLs were kept
            url.expanded_url = expanded_url(url.url)
    return entities


def _attachment(media: media_pb2.Media) -> tweet_pb2.MediaAttachment:
    return tweet_pb2.MediaAttachment(
        media_id=media.id,
        content_type=media.content_type,
        url=media.url,
        thumbnail_url=media.thumbnail_url,
        width=media.width,
        height=media.height,
    )
