"""TweetService: posting under Twitter's text rules, reading single tweets, user timelines and batches."""

from __future__ import annotations

import time

import grpc
from chirp.tweet.v1 import tweet_events_pb2, tweet_pb2, tweet_service_pb2, tweet_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.kit import errors, paging
from services.kit.identity import require_user
from services.kit.outbox import Outbox
from services.kit.server import Context
from services.kit.snowflake import Snowflake
from services.kit.timestamps import to_timestamp
from services.tweet import text as rules
from services.tweet.store import StoredTweet, TweetStore
from services.user.lookup import user_by_username

__all__ = ["TweetService"]

_NEWEST = 2**63 - 1
_MAX_MENTIONS_RESOLVED = 10


class TweetService(tweet_service_pb2_grpc.TweetServiceServicer):
    def __init__(
        self, *, store: TweetStore, outbox: Outbox, ids: Snowflake, users: user_service_pb2_grpc.UserServiceStub
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._ids = ids
        self._users = users

    async def CreateTweet(
        self, request: tweet_service_pb2.CreateTweetRequest, context: Context
    ) -> tweet_pb2.Tweet:
        author_id = require_user()
        analysis = _checked_text(request.text)
        entities = await self._entities(analysis.entities)
        conversation_id, reply_to_user_id = 0, 0
        if request.reply_to_tweet_id:
            parent = await self._store.by_id(request.reply_to_tweet_id)
            if parent is None:
                raise errors.NotFound("TWEET_NOT_FOUND", "the tweet you reply to does not exist")
            conversation_id, reply_to_user_id = parent.conversation_id, parent.author_id
        if request.quote_tweet_id and await self._store.by_id(request.quote_tweet_id) is None:
            raise errors.NotFound("TWEET_NOT_FOUND", "the tweet you quote does not exist")
        tweet_id = self._ids.next_id()
        stored = StoredTweet(
            id=tweet_id,
            author_id=author_id,
            text=analysis.text,
            reply_to_tweet_id=request.reply_to_tweet_id,
            conversation_id=conversation_id or tweet_id,
            quote_tweet_id=request.quote_tweet_id,
            retweet_of_id=0,
            entities=entities.SerializeToString(),
            created_at=time.time(),
        )
        async with self._store.db.transaction() as tx:
            if request.request_id:
                earlier = await self._store.by_request(tx, author_id, request.request_id)
                if earlier is not None:  # a retried create: answer the tweet it made the first time
                    return (await self._hydrate([earlier]))[0]
            await self._store.insert(tx, stored, request_id=request.request_id or None)
            await self._outbox.add(
                tx,
                "chirp.tweet.created",
                tweet_events_pb2.TweetCreated(
                    tweet_id=stored.id,
                    author_id=author_id,
                    text=stored.text,
                    reply_to_tweet_id=stored.reply_to_tweet_id,
                    reply_to_user_id=reply_to_user_id,
                    conversation_id=stored.conversation_id,
                    quote_tweet_id=stored.quote_tweet_id,
                    entities=entities,
                    created_at=to_timestamp(stored.created_at),
                    occurred_at=to_timestamp(stored.created_at),
                ),
                msg_id=f"tweet.created:{stored.id}",
            )
        return (await self._hydrate([stored]))[0]

    async def GetTweet(
        self, request: tweet_service_pb2.GetTweetRequest, context: Context
    ) -> tweet_pb2.Tweet:
        stored = await self._store.by_id(request.tweet_id)
        if stored is None:
            raise errors.NotFound("TWEET_NOT_FOUND", f"tweet {request.tweet_id} does not exist")
        return (await self._hydrate([stored]))[0]

    async def ListUserTweets(
        self, request: tweet_service_pb2.ListUserTweetsRequest, context: Context
    ) -> tweet_service_pb2.ListUserTweetsResponse:
        author = await user_by_username(self._users, request.username)
        size = paging.page_size(request.page_size)
        tweets = await self._store.by_author(
            author.id, before=paging.parse_token(request.page_token) or _NEWEST, limit=size
        )
        return tweet_service_pb2.ListUserTweetsResponse(
            tweets=await self._hydrate(tweets), next_page_token=paging.next_token([t.id for t in tweets], size=size)
        )

    async def BatchGetTweets(
        self, request: tweet_service_pb2.BatchGetTweetsRequest, context: Context
    ) -> tweet_service_pb2.BatchGetTweetsResponse:
        found = await self._store.by_ids(request.tweet_ids)
        ordered = [found[i] for i in request.tweet_ids if i in found]
        return tweet_service_pb2.BatchGetTweetsResponse(tweets=await self._hydrate(ordered))

    async def ListAuthorTweetIds(
        self, request: tweet_service_pb2.ListAuthorTweetIdsRequest, context: Context
    ) -> tweet_service_pb2.ListAuthorTweetIdsResponse:
        ids = await self._store.ids_by_authors(
            list(request.author_ids), before=request.max_id or _NEWEST, limit=request.limit or 200
        )
        return tweet_service_pb2.ListAuthorTweetIdsResponse(tweet_ids=ids)

    async def _entities(self, found: rules.Entities) -> tweet_pb2.TweetEntities:
        """Entities as the contract carries them; mentions resolve to users, unknown names are dropped."""
        mentions: list[tweet_pb2.MentionEntity] = []
        names = list(dict.fromkeys(m.text.casefold() for m in found.mentions))[:_MAX_MENTIONS_RESOLVED]
        resolved: dict[str, int] = {}
        for name in names:
            try:
                answer = await self._users.LookupUser(user_service_pb2.LookupUserRequest(username=name))
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                continue
            resolved[name] = answer.user.id
        for m in found.mentions:
            if m.text.casefold() in resolved:
                mentions.append(
                    tweet_pb2.MentionEntity(
                        user_id=resolved[m.text.casefold()], username=m.text, start=m.start, end=m.end
                    )
                )
        return tweet_pb2.TweetEntities(
            hashtags=[tweet_pb2.HashtagEntity(tag=h.text, start=h.start, end=h.end) for h in found.hashtags],
            mentions=mentions,
            urls=[tweet_pb2.UrlEntity(url=u.text, start=u.start, end=u.end) for u in found.urls],
            cashtags=[tweet_pb2.CashtagEntity(symbol=c.text, start=c.start, end=c.end) for c in found.cashtags],
        )

    async def _hydrate(self, stored: list[StoredTweet]) -> list[tweet_pb2.Tweet]:
        """Tweets as readers see them: with their authors, in the order given."""
        if not stored:
            return []
        answer = await self._users.BatchGetUsers(
            user_service_pb2.BatchGetUsersRequest(ids=list({t.author_id for t in stored}))
        )
        authors = {u.id: u for u in answer.users}
        return [_to_proto(t, authors.get(t.author_id)) for t in stored]


def _checked_text(text: str) -> rules.Analysis:
    analysis = rules.analyze(text)
    if not analysis.text.strip():
        raise errors.InvalidArgument("EMPTY_TWEET", "a tweet needs some text", field="text")
    if analysis.has_invalid_characters:
        raise errors.InvalidArgument("INVALID_CHARACTERS", "the text contains invalid characters", field="text")
    if analysis.weighted_length > rules.MAX_WEIGHTED_LENGTH:
        raise errors.InvalidArgument(
            "TWEET_TOO_LONG",
            f"the text weighs {analysis.weighted_length} characters; the limit is {rules.MAX_WEIGHTED_LENGTH}",
            field="text",
        )
    return analysis


def _to_proto(stored: StoredTweet, author: user_pb2.User | None) -> tweet_pb2.Tweet:
    tweet = tweet_pb2.Tweet(
        id=stored.id,
        text=stored.text,
        created_at=to_timestamp(stored.created_at),
        reply_to_tweet_id=stored.reply_to_tweet_id,
        conversation_id=stored.conversation_id,
        quote_tweet_id=stored.quote_tweet_id,
        entities=tweet_pb2.TweetEntities.FromString(stored.entities),
    )
    if author is not None:
        tweet.author.CopyFrom(
            user_pb2.UserSummary(
                id=author.id,
                username=author.username,
                display_name=author.display_name,
                avatar_url=author.avatar_url,
                protected=author.protected,
            )
        )
    return tweet
