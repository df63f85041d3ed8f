"""Posting, retweeting and deleting: the rules of every write, each one transaction with its events.

Counters and cascades are kept in the same transaction as the change that moves them: a reply and its
parent's `reply_count`, a quote and its quoted tweet's `quote_count`, a deleted tweet and its retweets. A
tweet replied to or quoted is read before the transaction (to check who may reply) and its counter moved
inside it, which also proves it still exists: one deleted in between fails the post instead of leaving a
counter behind.
"""

from __future__ import annotations

import asyncio
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from chirp.media.v1 import media_pb2
from chirp.tweet.v1 import tweet_pb2
from chirp.user.v1 import user_pb2

from services.graph.public import can_see, hidden_by_block
from services.kit import errors
from services.kit.outbox import Outbox
from services.kit.snowflake import Snowflake
from services.tweet import text as rules
from services.tweet.events import publish_created, publish_deleted
from services.tweet.hydrate import expanded_url
from services.tweet.peers import Peers
from services.tweet.store import MAX_ANCESTORS, StoredTweet, TweetStore

__all__ = ["MAX_MENTIONS_RESOLVED", "Draft", "Posted", "Writer", "checked_text"]

# Mentions beyond this many distinct names are not resolved (each is one LookupUser call).
MAX_MENTIONS_RESOLVED = 10
# Characters that twitter-text refuses, and control characters other than tab and line breaks.
_ALLOWED_CONTROLS = frozenset("\t\n\r")


@dataclass(frozen=True)
class Draft:
    """What a caller asks to post."""

    text: str
    reply_to_tweet_id: int = 0
    quote_tweet_id: int = 0
    media_ids: Sequence[int] = ()
    request_id: str = ""


@dataclass(frozen=True)
class Posted:
    """A stored tweet and what was read to make it, so that answering it reads nothing twice."""

    tweet: StoredTweet
    users: dict[int, user_pb2.User] = field(default_factory=dict)
    relationships: dict[int, user_pb2.Relationship] = field(default_factory=dict)


def checked_text(text: str) -> rules.Analysis:
    """The analysed text, or InvalidArgument (field `text`): EMPTY_TWEET, INVALID_CHARACTERS, TWEET_TOO_LONG."""
    analysis = rules.analyze(text)
    if not analysis.text.strip():
        raise errors.InvalidArgument("EMPTY_TWEET", "a tweet needs some text, not only spaces", field="text")
    if analysis.has_invalid_characters or any(
        unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in analysis.text
    ):
        raise errors.InvalidArgument(
            "INVALID_CHARACTERS",
            "the text contains a character a tweet may not hold (U+FFFE, U+FEFF, U+FFFF or a control character)",
            field="text",
        )
    if analysis.weighted_length > rules.MAX_WEIGHTED_LENGTH:
        raise errors.InvalidArgument(
            "TWEET_TOO_LONG",
            f"the text weighs {analysis.weighted_length} characters; the limit is {rules.MAX_WEIGHTED_LENGTH}"
            " (URLs weigh 23, most CJK characters and emoji 2)",
            field="text",
        )
    return analysis


class Writer:
    def __init__(self, *, store: TweetStore, peers: Peers, outbox: Outbox, ids: Snowflake) -> None:
        self._store = store
        self._peers = peers
        self._outbox = outbox
        self._ids = ids

    async def post(self, author_id: int, draft: Draft) -> Posted:
        """Store a tweet, reply or quote of `author_id` (or answer the one its request id made before)."""
        request_id = draft.request_id or None
        if request_id is not None:
            earlier = await self._earlier(author_id, request_id)
            if earlier is not None:
                return Posted(earlier)
        analysis = checked_text(draft.text)
        names = list(dict.fromkeys(m.value.lower() for m in analysis.entities.mentions))[:MAX_MENTIONS_RESOLVED]
        parent, quoted, mentioned = await asyncio.gather(
            self._addressed(draft.reply_to_tweet_id),
            self._addressed(draft.quote_tweet_id),
            self._peers.users_named(names),
        )
        others = {t.author_id for t in (parent, quoted) if t is not None} | {u.id for u in mentioned.values()}
        others.discard(author_id)
        users, relationships = await asyncio.gather(
            self._peers.users({author_id, *(t.author_id for t in (parent, quoted) if t is not None)}),
            self._peers.relationships(author_id, others),
        )
        author = users.get(author_id)
        if author is None:
            raise errors.FailedPrecondition("ACCOUNT_NOT_FOUND", "your account no longer exists")
        for target in (parent, quoted):
            if target is not None:
                _check_may_address(author_id, target, users, relationships)
        await self._check_media(author_id, draft.media_ids)

        tweet_id = self._ids.next_id()
        entities = _entities(analysis.entities, mentioned, relationships)
        tweet = StoredTweet(
            id=tweet_id,
            author_id=author_id,
            text=analysis.text,
            reply_to_tweet_id=parent.id if parent else 0,
            reply_to_user_id=parent.author_id if parent else 0,
            conversation_id=parent.conversation_id if parent else tweet_id,
            quote_tweet_id=quoted.id if quoted else 0,
            retweet_of_id=0,
            entities=entities.SerializeToString(),
            created_at=time.time(),
            ancestor_ids=(*parent.ancestor_ids, parent.id)[-MAX_ANCESTORS:] if parent else (),
            media_ids=tuple(draft.media_ids),
        )
        async with self._store.write() as w:
            if request_id is not None:  # a concurrent retry may have won the race since the first check
                first = await w.created_by_request(author_id, request_id)
                if first is not None:
                    return Posted(_still_there(await w.get(first)), users, relationships)
            if parent is not None and not await w.count(parent.id, replies=1):
                raise _tweet_not_found("the tweet you reply to was deleted")
            if quoted is not None and not await w.count(quoted.id, quotes=1):
                raise _tweet_not_found("the tweet you quote was deleted")
            await w.insert(tweet, request_id=request_id)
            await publish_created(
                self._outbox, w.tx, tweet,
                author_protected=author.protected, quoted_author_id=quoted.author_id if quoted else 0,
            )  # fmt: skip
        return Posted(tweet, users, relationships)

    async def retweet(self, user_id: int, tweet_id: int) -> Posted:
        """The retweet row of `user_id` for the tweet `tweet_id` addresses, created unless it exists."""
        original = await self._original(tweet_id)
        users, relationships = await asyncio.gather(
            self._peers.users({user_id, original.author_id}),
            self._peers.relationships(user_id, [original.author_id]),
        )
        _check_may_address(user_id, original, users, relationships)
        if users[original.author_id].protected:
            raise errors.PermissionDenied(
                "ACCOUNT_PROTECTED", "tweets of a protected account cannot be retweeted, even by their author"
            )
        retweeter = users.get(user_id)
        async with self._store.write() as w:
            existing = await w.retweet_by(user_id, original.id)
            if existing is not None:  # retweeting twice is retweeting once
                return Posted(existing, users, relationships)
            if await w.get(original.id) is None:
                raise _tweet_not_found("the tweet was deleted")
            row_id = self._ids.next_id()
            row = StoredTweet(
                id=row_id,
                author_id=user_id,
                text="",
                reply_to_tweet_id=0,
                reply_to_user_id=0,
                conversation_id=row_id,
                quote_tweet_id=0,
                retweet_of_id=original.id,
                entities=b"",
                created_at=time.time(),
            )
            await w.insert(row, request_id=None)
            await publish_created(
                self._outbox, w.tx, row,
                author_protected=retweeter.protected if retweeter else False,
                retweeted_author_id=original.author_id,
            )  # fmt: skip
        return Posted(row, users, relationships)

    async def unretweet(self, user_id: int, tweet_id: int) -> None:
        """Delete `user_id`'s retweet row of the tweet `tweet_id` addresses, if there is one."""
        addressed = await self._store.get(tweet_id)
        original_id = addressed.retweet_of_id if addressed is not None and addressed.is_retweet else tweet_id
        async with self._store.write() as w:
            row = await w.retweet_by(user_id, original_id)
            if row is not None:
                await w.delete(row.id)
                await publish_deleted(self._outbox, w.tx, row)

    async def delete(self, user_id: int, tweet_id: int) -> None:
        """Delete a tweet of `user_id`, its retweets with it, and its share of its parent's and quoted's counts."""
        tweet = await self._store.get(tweet_id)
        if tweet is not None and tweet.author_id != user_id:
            # Refuse without revealing a tweet the caller may not see: that one does not exist for them.
            users, relationships = await asyncio.gather(
                self._peers.users([tweet.author_id]), self._peers.relationships(user_id, [tweet.author_id])
            )
            author = users.get(tweet.author_id)
            if author is None or not can_see(
                user_id, owner_id=author.id, owner_protected=author.protected,
                relationship=relationships.get(author.id),
            ):  # fmt: skip
                raise _tweet_not_found(f"tweet {tweet_id} does not exist")
            raise errors.PermissionDenied("NOT_TWEET_AUTHOR", "only its author may delete a tweet")
        async with self._store.write() as w:
            tweet = await w.get(tweet_id)
            if tweet is None:
                raise _tweet_not_found(f"tweet {tweet_id} does not exist")
            if tweet.author_id != user_id:  # it changed hands in between? ids are never reused; be safe
                raise errors.PermissionDenied("NOT_TWEET_AUTHOR", "only its author may delete a tweet")
            if tweet.is_retweet:
                raise errors.FailedPrecondition(
                    "IS_RETWEET", "this is a retweet: undo it with POST /v1/tweets/{id}:unretweet"
                )
            for retweet in await w.retweets_of(tweet.id):
                await w.delete(retweet.id)
                await publish_deleted(self._outbox, w.tx, retweet)
            await w.delete(tweet.id)
            if tweet.reply_to_tweet_id:
                await w.count(tweet.reply_to_tweet_id, replies=-1)
            if tweet.quote_tweet_id:
                await w.count(tweet.quote_tweet_id, quotes=-1)
            await publish_deleted(self._outbox, w.tx, tweet)

    async def _earlier(self, author_id: int, request_id: str) -> StoredTweet | None:
        first = await self._store.created_by_request(author_id, request_id)
        return None if first is None else _still_there(await self._store.get(first))

    async def _addressed(self, tweet_id: int) -> StoredTweet | None:
        """`_original(tweet_id)`, or None for 0 (the request names no tweet)."""
        return await self._original(tweet_id) if tweet_id else None

    async def _original(self, tweet_id: int) -> StoredTweet:
        """The tweet `tweet_id` addresses (for a retweet row, its original); NotFound if there is none."""
        tweet = await self._store.get(tweet_id)
        if tweet is not None and tweet.is_retweet:
            tweet = await self._store.get(tweet.retweet_of_id)
        if tweet is None:
            raise _tweet_not_found(f"tweet {tweet_id} does not exist")
        return tweet

    async def _check_media(self, author_id: int, media_ids: Sequence[int]) -> None:
        if not media_ids:
            return
        found = await self._peers.media(media_ids)
        for media_id in media_ids:
            media = found.get(media_id)
            if media is None or media.owner_id != author_id:
                raise errors.NotFound(
                    "MEDIA_NOT_FOUND", f"media {media_id} does not exist or is not your upload", field="media_ids"
                )
            if media.status != media_pb2.MEDIA_STATUS_READY:
                raise errors.FailedPrecondition(
                    "MEDIA_NOT_READY", f"media {media_id} is still processing or failed", field="media_ids"
                )


def _check_may_address(
    caller_id: int,
    target: StoredTweet,
    users: dict[int, user_pb2.User],
    relationships: dict[int, user_pb2.Relationship],
) -> None:
    """May `caller_id` reply to, quote or retweet `target`? NotFound when they may not see it (nothing about
    it is revealed), PermissionDenied BLOCKED when a block between them is the reason."""
    author = users.get(target.author_id)
    if author is None:
        raise _tweet_not_found(f"tweet {target.id} does not exist")
    relationship = relationships.get(author.id)
    if caller_id != author.id and relationship is not None and hidden_by_block(relationship):
        raise errors.PermissionDenied(
            "BLOCKED", "a block between you and its author stops replies, quotes and retweets"
        )
    if not can_see(caller_id, owner_id=author.id, owner_protected=author.protected, relationship=relationship):
        raise _tweet_not_found(f"tweet {target.id} does not exist")


def _entities(
    found: rules.Entities, mentioned: dict[str, user_pb2.User], relationships: dict[int, user_pb2.Relationship]
) -> tweet_pb2.TweetEntities:
    """The entities as stored: mentions resolved to users, except users a block separates from the author."""
    mentions = []
    for mention in found.mentions:
        user = mentioned.get(mention.value.lower())
        relationship = relationships.get(user.id) if user is not None else None
        if user is None or (relationship is not None and hidden_by_block(relationship)):
            continue
        mentions.append(
            tweet_pb2.MentionEntity(user_id=user.id, username=user.username, start=mention.start, end=mention.end)
        )
    return tweet_pb2.TweetEntities(
        hashtags=[tweet_pb2.HashtagEntity(tag=h.value, start=h.start, end=h.end) for h in found.hashtags],
        mentions=mentions,
        urls=[
            tweet_pb2.UrlEntity(url=u.value, expanded_url=expanded_url(u.value), start=u.start, end=u.end)
            for u in found.urls
        ],
        cashtags=[tweet_pb2.CashtagEntity(symbol=c.value, start=c.start, end=c.end) for c in found.cashtags],
    )


def _still_there(tweet: StoredTweet | None) -> StoredTweet:
    if tweet is None:
        raise _tweet_not_found("the tweet this request_id created has been deleted")
    return tweet


def _tweet_not_found(message: str) -> errors.NotFound:
    return errors.NotFound("TWEET_NOT_FOUND", message)
