"""Conversations and messages: who may start and send what, idempotency, and the writes with their event.

Plain domain code, no gRPC: users arrive resolved (the servicer looks usernames up), relationships come from
the graph service through `People`, everything else from the store. Checks that need other services run
before the write transaction (never holding the database across a network call); the transaction then
re-checks the request id, so a retry racing the first call still makes one conversation or one message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chirp.dm.v1 import dm_events_pb2
from chirp.user.v1 import user_pb2

from services.dm.access import DEFAULT_POLICY, refusal, refused_because
from services.dm.people import People
from services.dm.store import DIRECT, GROUP, DmStore, StoredConversation, StoredMessage
from services.kit import errors
from services.kit.outbox import Outbox
from services.kit.snowflake import Snowflake
from services.kit.timestamps import to_timestamp

__all__ = ["MESSAGE_SENT", "Conversations", "Page"]

MESSAGE_SENT = "chirp.dm.message_sent"

# Should the graph ever leave a requested id out of its answer, the check fails closed.
_UNKNOWN_RELATIONSHIP = user_pb2.Relationship(blocked_by=True)


@dataclass(frozen=True, slots=True)
class Page:
    """A page of the caller's conversations, each with the newest message the caller can see."""

    conversations: list[StoredConversation]
    latest: dict[int, StoredMessage]
    cursors: list[int]  # the inbox cursors of the page's entries, for the next page token


class Conversations:
    def __init__(
        self,
        store: DmStore,
        people: People,
        outbox: Outbox,
        ids: Snowflake,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._people = people
        self._outbox = outbox
        self._ids = ids
        self._clock = clock

    async def start(self, me: int, others: Sequence[user_pb2.User], *, request_id: str = "") -> StoredConversation:
        """A conversation between `me` and `others` (distinct users, in the order named): direct for one, else a
        group. An existing direct conversation is answered unchanged, once the rules allow it."""
        if any(u.id == me for u in others):
            raise errors.InvalidArgument(
                "CANNOT_MESSAGE_SELF",
                "you are in every conversation you start: name only the others",
                field="participant_usernames",
            )
        if request_id:
            earlier = await self._store.request(me, "conversation", request_id)
            if earlier is not None:
                return await self._existing(earlier[0])
        kind = DIRECT if len(others) == 1 else GROUP
        existing = await self._store.direct_between(me, others[0].id) if kind == DIRECT else None
        await self._check(me, others, accepted=existing.accepted if existing else frozenset())
        if existing is not None:
            return existing
        async with self._store.db.transaction() as tx:
            again = await self._store.request(me, "conversation", request_id, tx=tx) if request_id else None
            if again is not None:
                conversation_id = again[0]
            else:
                conversation_id = await self._store.create_conversation(
                    tx,
                    conversation_id=self._ids.next_id(),
                    kind=kind,
                    participants=[me, *(u.id for u in others)],
                    at=self._clock(),
                )
                if request_id:
                    await self._store.remember_request(
                        tx, user_id=me, kind="conversation", request_id=request_id, conversation_id=conversation_id
                    )
        return await self._existing(conversation_id)

    async def send(self, me: int, conversation_id: int, text: str, *, request_id: str = "") -> StoredMessage:
        """Sends `text` to the conversation as `me`; a retry with the same `request_id` answers the first message."""
        conversation = await self.visible(me, conversation_id)
        if request_id:
            earlier = await self._earlier_message(me, request_id)
            if earlier is not None:
                return earlier
        if conversation.kind == DIRECT:
            await self._check_direct(me, conversation)
        message = StoredMessage(
            id=self._ids.next_id(), conversation_id=conversation.id, sender_id=me, text=text, created_at=self._clock()
        )
        async with self._store.db.transaction() as tx:
            raced = await self._store.request(me, "message", request_id, tx=tx) if request_id else None
            if raced is None:
                if request_id:
                    await self._store.remember_request(
                        tx,
                        user_id=me,
                        kind="message",
                        request_id=request_id,
                        conversation_id=conversation.id,
                        message_id=message.id,
                    )
                await self._store.add_message(tx, message, participants=conversation.participants)
                event = dm_events_pb2.MessageSent(
                    message_id=message.id,
                    conversation_id=conversation.id,
                    sender_id=me,
                    recipient_ids=conversation.others(me),
                    occurred_at=to_timestamp(message.created_at),
                )
                await self._outbox.add(tx, MESSAGE_SENT, event, msg_id=f"dm.message_sent:{message.id}")
        if raced is not None:  # a concurrent retry sent it first
            first = await self._store.message(*raced)
            assert first is not None  # its request row committed with it
            return first
        return message

    async def visible(self, me: int, conversation_id: int) -> StoredConversation:
        """The conversation, if `me` is in it; NotFound CONVERSATION_NOT_FOUND otherwise (it may not exist)."""
        conversation = await self._store.conversation(conversation_id)
        if conversation is None or me not in conversation.participants:
            raise errors.NotFound("CONVERSATION_NOT_FOUND", f"conversation {conversation_id} does not exist")
        return conversation

    async def messages(self, me: int, conversation_id: int, *, before: int, limit: int) -> list[StoredMessage]:
        """A page of the conversation's messages, newest first; in a group, without those of users `me` blocks."""
        conversation = await self.visible(me, conversation_id)
        hidden: set[int] = set()
        if conversation.kind == GROUP:
            hidden = await self._people.blocked_by_viewer(me, conversation.others(me))
        return await self._store.messages(conversation.id, before=before, limit=limit, hidden_senders=hidden)

    async def inbox(self, me: int, *, before: int, limit: int) -> Page:
        """A page of `me`'s conversations, the most recently active first."""
        entries = await self._store.inbox(me, before=before, limit=limit)
        found = await self._store.conversations([e.conversation_id for e in entries])
        conversations = [found[e.conversation_id] for e in entries if e.conversation_id in found]
        latest = await self.latest(me, conversations)
        return Page(conversations=conversations, latest=latest, cursors=[e.activity_id for e in entries])

    async def latest(self, me: int, conversations: Sequence[StoredConversation]) -> dict[int, StoredMessage]:
        """The newest message `me` can see in each conversation (in groups, not from users `me` blocks)."""
        active = [c for c in conversations if c.last_message_id]
        groups = [c for c in active if c.kind == GROUP]
        hidden: set[int] = set()
        if groups:
            hidden = await self._people.blocked_by_viewer(me, {p for c in groups for p in c.others(me)})
        latest = await self._store.latest_messages([c.id for c in active if c.kind == DIRECT])
        latest.update(await self._store.latest_messages([c.id for c in groups], hidden_senders=hidden))
        return latest

    async def _check(self, me: int, others: Sequence[user_pb2.User], *, accepted: frozenset[int]) -> None:
        """Every named user may be messaged by `me`, or the error about the first who may not."""
        ids = [u.id for u in others]
        relationships, policies = await asyncio.gather(self._people.relationships(me, ids), self._store.policies(ids))
        for user in others:
            reason = refused_because(
                relationships.get(user.id, _UNKNOWN_RELATIONSHIP),
                policy=policies.get(user.id, DEFAULT_POLICY),
                accepted=user.id in accepted,
            )
            if reason is not None:
                raise refusal(reason, user.username)

    async def _check_direct(self, me: int, conversation: StoredConversation) -> None:
        (other,) = conversation.others(me)
        relationships, policies = await asyncio.gather(
            self._people.relationships(me, [other]), self._store.policies([other])
        )
        reason = refused_because(
            relationships.get(other, _UNKNOWN_RELATIONSHIP),
            policy=policies.get(other, DEFAULT_POLICY),
            accepted=other in conversation.accepted,
        )
        if reason is not None:
            summary = (await self._people.summaries([other])).get(other)  # only now: the name is for the error
            raise refusal(reason, summary.username if summary is not None else str(other))

    async def _existing(self, conversation_id: int) -> StoredConversation:
        conversation = await self._store.conversation(conversation_id)
        assert conversation is not None  # conversations are never deleted
        return conversation

    async def _earlier_message(self, me: int, request_id: str) -> StoredMessage | None:
        earlier = await self._store.request(me, "message", request_id)
        return await self._store.message(*earlier) if earlier is not None else None
