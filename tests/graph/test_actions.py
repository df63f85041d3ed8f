"""The graph's rules for changing state, and exactly which events each change publishes (in which order).

Counters elsewhere are kept from these events, so every test checks the events as well as the state: a
missing, extra or mis-addressed event is a counting bug in the user service.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import pytest

from services.graph.actions import GraphActions
from services.graph.model import Relation
from services.graph.store import GraphStore
from services.kit import errors
from tests.graph.conftest import Published

A, B, C = 101, 202, 303


async def test_following_a_public_account_publishes_followed_once(actions: GraphActions, published: Published) -> None:
    assert await actions.follow(A, B, target_protected=False) == Relation(following=True)
    assert await published.take() == [("followed", A, B)]
    assert await actions.follow(A, B, target_protected=False) == Relation(following=True)
    assert await published.take() == []


async def test_following_back_shows_both_directions(actions: GraphActions) -> None:
    await actions.follow(A, B, target_protected=False)
    assert await actions.follow(B, A, target_protected=False) == Relation(following=True, followed_by=True)


async def test_following_a_protected_account_sends_one_request(
    actions: GraphActions, store: GraphStore, published: Published
) -> None:
    assert await actions.follow(A, B, target_protected=True) == Relation(follow_requested=True)
    assert await actions.follow(A, B, target_protected=True) == Relation(follow_requested=True)
    assert await published.take() == [("follow_requested", A, B)]
    assert [e.user_id for e in await store.follow_requests(B, before=None, limit=10)] == [A]
    assert await store.follower_ids(B, after=0, limit=10) == []  # a request is not a follow


async def test_accepting_publishes_accepted_then_followed_with_the_requester_as_actor(
    actions: GraphActions, store: GraphStore, published: Published
) -> None:
    await actions.follow(A, B, target_protected=True)
    await published.take()
    assert await actions.accept(B, A) == Relation(followed_by=True)
    assert await published.take() == [("follow_request_accepted", B, A), ("followed", A, B)]
    assert await store.follower_ids(B, after=0, limit=10) == [A]
    assert await store.follow_requests(B, before=None, limit=10) == []
    with pytest.raises(errors.NotFound) as caught:  # answered once: a second accept finds nothing
        await actions.accept(B, A)
    assert caught.value.reason == "FOLLOW_REQUEST_NOT_FOUND"
    assert await published.take() == []


async def test_rejecting_removes_the_request_and_publishes_rejected(
    actions: GraphActions, store: GraphStore, published: Published
) -> None:
    await actions.follow(A, B, target_protected=True)
    await published.take()
    assert await actions.reject(B, A) == Relation()
    assert await published.take() == [("follow_request_rejected", B, A)]
    assert await store.relationship(A, B) == Relation()
    with pytest.raises(errors.NotFound) as caught:
        await actions.reject(B, A)
    assert caught.value.reason == "FOLLOW_REQUEST_NOT_FOUND"


@pytest.mark.parametrize("answer", ["accept", "reject"])
async def test_only_the_requested_account_can_answer(actions: GraphActions, published: Published, answer: str) -> None:
    await actions.follow(A, B, target_protected=True)
    await published.take()
    with pytest.raises(errors.NotFound):
        await getattr(actions, answer)(C, A)  # C was not asked
    with pytest.raises(errors.NotFound):
        await getattr(actions, answer)(A, B)  # nor may the requester answer their own request
    assert await published.take() == []


async def test_unfollowing_a_pending_request_cancels_it(actions: GraphActions, published: Published) -> None:
    await actions.follow(A, B, target_protected=True)
    await published.take()
    assert await actions.unfollow(A, B) == Relation()
    assert await published.take() == [("follow_request_canceled", A, B)]
    assert await actions.unfollow(A, B) == Relation()
    assert await published.take() == []


async def test_unfollowing_publishes_unfollowed_once(actions: GraphActions, published: Published) -> None:
    await actions.follow(A, B, target_protected=False)
    await published.take()
    assert await actions.unfollow(A, B) == Relation()
    assert await actions.unfollow(A, B) == Relation()
    assert await published.take() == [("unfollowed", A, B)]


async def test_a_follow_of_an_account_no_longer_protected_replaces_the_old_request(
    actions: GraphActions, store: GraphStore, published: Published
) -> None:
    await actions.follow(A, B, target_protected=True)
    assert await actions.follow(A, B, target_protected=False) == Relation(following=True)
    assert await published.take() == [("follow_requested", A, B), ("followed", A, B)]
    assert await store.follow_requests(B, before=None, limit=10) == []


async def test_following_an_already_followed_account_that_became_protected_changes_nothing(
    actions: GraphActions, published: Published
) -> None:
    await actions.follow(A, B, target_protected=False)
    assert await actions.follow(A, B, target_protected=True) == Relation(following=True)
    assert await published.take() == [("followed", A, B)]


async def test_blocking_removes_follows_and_requests_both_ways_then_publishes_blocked(
    actions: GraphActions, store: GraphStore, published: Published
) -> None:
    await actions.follow(A, B, target_protected=False)  # A follows B
    await actions.follow(B, A, target_protected=True)  # B asked to follow A, a protected account
    await actions.follow(C, A, target_protected=False)  # a bystander, untouched
    await actions.mute(A, B)
    await published.take()

    assert await actions.block(A, B) == Relation(blocking=True, muting=True)
    assert await published.take() == [
        ("unfollowed", A, B),  # the former follower is the actor, whoever blocked
        ("follow_request_canceled", B, A),  # the requester is the actor
        ("blocked", A, B),
    ]
    assert await store.relationship(B, A) == Relation(blocked_by=True)
    assert await store.follow_requests(A, before=None, limit=10) == []
    assert await store.follower_ids(A, after=0, limit=10) == [C]
    assert await actions.block(A, B) == Relation(blocking=True, muting=True)
    assert await published.take() == []


async def test_blocking_a_follower_publishes_unfollowed_with_the_follower_as_actor(
    actions: GraphActions, published: Published
) -> None:
    await actions.follow(B, A, target_protected=False)
    await actions.follow(A, B, target_protected=False)
    await published.take()
    await actions.block(A, B)
    assert await published.take() == [("unfollowed", A, B), ("unfollowed", B, A), ("blocked", A, B)]


async def test_a_block_either_way_refuses_follows_and_requests_without_writing_anything(
    actions: GraphActions, published: Published
) -> None:
    await actions.block(A, B)
    await published.take()
    for follower, followee in ((A, B), (B, A)):
        for protected in (False, True):
            with pytest.raises(errors.PermissionDenied) as caught:
                await actions.follow(follower, followee, target_protected=protected)
            assert caught.value.reason == "BLOCKED"
    assert await published.take() == []


async def test_the_blocked_user_is_not_told_who_blocked_whom(actions: GraphActions) -> None:
    await actions.block(A, B)
    with pytest.raises(errors.PermissionDenied) as blocked:
        await actions.follow(B, A, target_protected=False)
    assert "block" not in blocked.value.message.lower()
    with pytest.raises(errors.PermissionDenied) as blocker:  # the blocker knows, and is told how to undo it
        await actions.follow(A, B, target_protected=False)
    assert "unblock" in blocker.value.message


async def test_unblocking_allows_following_again_but_restores_nothing(
    actions: GraphActions, published: Published
) -> None:
    await actions.follow(A, B, target_protected=False)
    await actions.block(B, A)
    await published.take()
    assert await actions.unblock(B, A) == Relation()
    assert await actions.unblock(B, A) == Relation()
    assert await published.take() == [("unblocked", B, A)]
    assert await actions.follow(A, B, target_protected=False) == Relation(following=True)
    assert await published.take() == [("followed", A, B)]


async def test_muting_sets_muting_only_and_keeps_follows(
    actions: GraphActions, store: GraphStore, published: Published
) -> None:
    await actions.follow(A, B, target_protected=False)
    await published.take()
    assert await actions.mute(A, B) == Relation(following=True, muting=True)
    assert await actions.mute(A, B) == Relation(following=True, muting=True)
    assert await store.relationship(B, A) == Relation(followed_by=True)  # the muted user cannot tell
    assert await published.take() == [("muted", A, B)]
    assert await actions.unmute(A, B) == Relation(following=True)
    assert await actions.unmute(A, B) == Relation(following=True)
    assert await published.take() == [("unmuted", A, B)]


@pytest.mark.parametrize("action", ["follow", "unfollow", "block", "unblock", "mute", "unmute"])
async def test_nobody_can_target_themselves(actions: GraphActions, published: Published, action: str) -> None:
    act: Callable[..., Awaitable[Relation]] = getattr(actions, action)
    with pytest.raises(errors.InvalidArgument) as caught:
        await (act(A, A, target_protected=False) if action == "follow" else act(A, A))
    assert caught.value.reason == "CANNOT_TARGET_SELF"
    assert caught.value.violations[0][0] == "username"
    assert await published.take() == []


async def test_every_event_has_its_own_message_id(actions: GraphActions, published: Published) -> None:
    # JetStream drops a message whose id it has seen within its window: follow, unfollow, follow again must
    # be three messages, not one.
    for _ in range(2):
        await actions.follow(A, B, target_protected=False)
        await actions.unfollow(A, B)
    await actions.follow(A, B, target_protected=False)
    ids = await published.msg_ids()
    assert len(ids) == 5
    assert len(set(ids)) == 5


async def test_concurrent_follows_make_one_edge_and_one_event(actions: GraphActions, published: Published) -> None:
    answers = await asyncio.gather(*(actions.follow(A, B, target_protected=False) for _ in range(20)))
    assert set(answers) == {Relation(following=True)}
    assert await published.take() == [("followed", A, B)]


async def test_a_follow_racing_a_block_never_survives_it(actions: GraphActions, store: GraphStore) -> None:
    # Whichever commits first, the end state is blocked and not following (the follow either ran first and was
    # removed by the block, or came second and was refused).
    for _ in range(10):
        follow = asyncio.ensure_future(actions.follow(A, B, target_protected=False))
        await actions.block(B, A)
        with contextlib.suppress(errors.PermissionDenied):
            await follow
        assert await store.relationship(A, B) == Relation(blocked_by=True)
        await actions.unblock(B, A)
