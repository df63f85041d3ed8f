"""The graph's state changes and the events announcing them: follow, requests, block, mute.

Every action is idempotent (repeating it changes nothing and publishes nothing) and writes its events through
the outbox in the same transaction as the change, so the user service's counters, fan-out and notifications
see exactly the changes that committed. Follower/following counts are kept from `followed` and
`unfollowed` alone: every new follow edge publishes one `Followed` and every removed one one `Unfollowed`,
always with the follower as actor.

Decisions that depend on state (is there a block? a request?) are read inside the write transaction, so a
concurrent block cannot slip between the check and the follow.
"""

from __future__ import annotations

import time

from chirp.graph.v1 import graph_events_pb2 as ev
from google.protobuf.message import Message

from services.graph.model import Relation
from services.graph.store import GraphStore, GraphWrites
from services.kit import errors
from services.kit.outbox import Outbox
from services.kit.snowflake import Snowflake
from services.kit.timestamps import to_timestamp

__all__ = ["GraphActions"]

_PairEvent = (
    type[ev.Followed]
    | type[ev.Unfollowed]
    | type[ev.FollowRequested]
    | type[ev.FollowRequestAccepted]
    | type[ev.FollowRequestRejected]
    | type[ev.FollowRequestCanceled]
    | type[ev.Blocked]
    | type[ev.Unblocked]
    | type[ev.Muted]
    | type[ev.Unmuted]
)

# NATS subject of each event: chirp.graph.<event in snake case>.
_SUBJECTS: dict[type[Message], str] = {
    ev.Followed: "chirp.graph.followed",
    ev.Unfollowed: "chirp.graph.unfollowed",
    ev.FollowRequested: "chirp.graph.follow_requested",
    ev.FollowRequestAccepted: "chirp.graph.follow_request_accepted",
    ev.FollowRequestRejected: "chirp.graph.follow_request_rejected",
    ev.FollowRequestCanceled: "chirp.graph.follow_request_canceled",
    ev.Blocked: "chirp.graph.blocked",
    ev.Unblocked: "chirp.graph.unblocked",
    ev.Muted: "chirp.graph.muted",
    ev.Unmuted: "chirp.graph.unmuted",
}


def _not_self(actor: int, target: int) -> None:
    if actor == target:
        raise errors.InvalidArgument("CANNOT_TARGET_SELF", "you cannot do this to yourself", field="username")


class GraphActions:
    def __init__(self, *, store: GraphStore, outbox: Outbox, ids: Snowflake) -> None:
        self._store = store
        self._outbox = outbox
        self._ids = ids

    async def follow(self, me: int, target: int, *, target_protected: bool) -> Relation:
        """Follow `target`, or ask to when the account is protected. Raises CANNOT_TARGET_SELF, BLOCKED."""
        _not_self(me, target)
        async with self._store.writing() as w:
            if await w.is_blocking(me, target):
                raise errors.PermissionDenied("BLOCKED", "you block this user: unblock them to follow them")
            if await w.is_blocking(target, me):
                # Says no more than the caller could learn anyway: not that the target blocks them.
                raise errors.PermissionDenied("BLOCKED", "you cannot follow this user")
            if await w.is_following(me, target):
                pass
            elif target_protected:
                if await w.add_request(me, target, request_id=self._ids.next_id(), at=time.time()):
                    await self._event(w, ev.FollowRequested, me, target)
            else:
                # A request left from when the account was protected is answered by the follow itself.
                await w.remove_request(me, target)
                follow_id = self._ids.next_id()
                if await w.add_follow(me, target, follow_id=follow_id, at=time.time()):
                    await self._event(w, ev.Followed, me, target, msg_id=f"followed-{follow_id}")
        return await self._store.relationship(me, target)

    async def unfollow(self, me: int, target: int) -> Relation:
        """Stop following `target`, or withdraw a pending request to them. Raises CANNOT_TARGET_SELF."""
        _not_self(me, target)
        async with self._store.writing() as w:
            if await w.remove_follow(me, target):
                await self._event(w, ev.Unfollowed, me, target)
            if await w.remove_request(me, target):
                await self._event(w, ev.FollowRequestCanceled, me, target)
        return await self._store.relationship(me, target)

    async def accept(self, me: int, requester: int) -> Relation:
        """Accept `requester`'s request to follow `me`. Raises FOLLOW_REQUEST_NOT_FOUND."""
        async with self._store.writing() as w:
            if not await w.remove_request(requester, me):
                raise _no_request()
            await self._event(w, ev.FollowRequestAccepted, me, requester)
            follow_id = self._ids.next_id()
            if await w.add_follow(requester, me, follow_id=follow_id, at=time.time()):
                await self._event(w, ev.Followed, requester, me, msg_id=f"followed-{follow_id}")
        return await self._store.relationship(me, requester)

    async def reject(self, me: int, requester: int) -> Relation:
        """Reject `requester`'s request to follow `me`. Raises FOLLOW_REQUEST_NOT_FOUND."""
        async with self._store.writing() as w:
            if not await w.remove_request(requester, me):
                raise _no_request()
            await self._event(w, ev.FollowRequestRejected, me, requester)
        return await self._store.relationship(me, requester)

    async def block(self, me: int, target: int) -> Relation:
        """Block `target`, removing follows and requests both ways. Raises CANNOT_TARGET_SELF."""
        _not_self(me, target)
        async with self._store.writing() as w:
            for follower, followee in ((me, target), (target, me)):
                if await w.remove_follow(follower, followee):
                    await self._event(w, ev.Unfollowed, follower, followee)
                if await w.remove_request(follower, followee):
                    await self._event(w, ev.FollowRequestCanceled, follower, followee)
            if await w.add_block(me, target, at=time.time()):
                await self._event(w, ev.Blocked, me, target)
        return await self._store.relationship(me, target)

    async def unblock(self, me: int, target: int) -> Relation:
        """Remove the block of `target`; follows it removed stay removed. Raises CANNOT_TARGET_SELF."""
        _not_self(me, target)
        async with self._store.writing() as w:
            if await w.remove_block(me, target):
                await self._event(w, ev.Unblocked, me, target)
        return await self._store.relationship(me, target)

    async def mute(self, me: int, target: int) -> Relation:
        """Mute `target`. Raises CANNOT_TARGET_SELF."""
        _not_self(me, target)
        async with self._store.writing() as w:
            if await w.add_mute(me, target, at=time.time()):
                await self._event(w, ev.Muted, me, target)
        return await self._store.relationship(me, target)

    async def unmute(self, me: int, target: int) -> Relation:
        """Unmute `target`. Raises CANNOT_TARGET_SELF."""
        _not_self(me, target)
        async with self._store.writing() as w:
            if await w.remove_mute(me, target):
                await self._event(w, ev.Unmuted, me, target)
        return await self._store.relationship(me, target)

    async def _event(self, w: GraphWrites, kind: _PairEvent, actor: int, target: int, *, msg_id: str = "") -> None:
        # Every event gets an id of its own (a fresh Snowflake unless the change has one): following, unfollowing
        # and following again are three events, and JetStream's dedupe must not merge any of them.
        subject = _SUBJECTS[kind]
        event = kind(actor_user_id=actor, target_user_id=target, occurred_at=to_timestamp(time.time()))
        msg_id = msg_id or f"{subject.rpartition('.')[2]}-{self._ids.next_id()}"
        await self._outbox.add(w.tx, subject, event, msg_id=msg_id)


def _no_request() -> errors.NotFound:
    return errors.NotFound("FOLLOW_REQUEST_NOT_FOUND", "this user has no pending request to follow you")
