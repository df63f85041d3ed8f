"""The GraphService servicer against a stand-in user service: name resolution, visibility of the lists,
hydration, relationships for other services, suggestions filtered by discoverability, page tokens.

Handlers are called directly (the caller set with `acting_as`); the gRPC layer (validation, error mapping,
transcoding) is exercised end to end in tests/e2e/test_graph.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
import pytest
from chirp.graph.v1 import graph_service_pb2 as pb
from chirp.user.v1 import user_pb2, user_service_pb2

from services.graph.actions import GraphActions
from services.graph.service import GraphService
from services.graph.store import GraphStore
from services.kit import errors
from services.kit.identity import acting_as

ALICE, BOB, CAROL, DAVE, ERIN = 1, 2, 3, 4, 5
NAMES = {ALICE: "alice", BOB: "bob", CAROL: "carol", DAVE: "dave", ERIN: "erin"}


@dataclass
class FakeUsers:
    """LookupUser and BatchGetUsers of the user service, over a dict; `batches` records BatchGetUsers calls."""

    protected: set[int] = field(default_factory=set)
    hidden: set[int] = field(default_factory=set)  # not discoverable
    batches: list[list[int]] = field(default_factory=list)

    def _user(self, user_id: int) -> user_pb2.User:
        return user_pb2.User(
            id=user_id,
            username=NAMES[user_id],
            protected=user_id in self.protected,
            discoverable=user_id not in self.hidden,
        )

    async def LookupUser(self, request: user_service_pb2.LookupUserRequest) -> user_service_pb2.LookupUserResponse:
        for user_id, name in NAMES.items():
            if name == request.username.lower():
                return user_service_pb2.LookupUserResponse(user=self._user(user_id))
        raise grpc.aio.AioRpcError(grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata(), "no such user")

    async def BatchGetUsers(
        self, request: user_service_pb2.BatchGetUsersRequest
    ) -> user_service_pb2.BatchGetUsersResponse:
        self.batches.append(list(request.ids))
        return user_service_pb2.BatchGetUsersResponse(users=[self._user(i) for i in request.ids if i in NAMES])


@pytest.fixture
def users() -> FakeUsers:
    return FakeUsers()


@pytest.fixture
def service(store: GraphStore, actions: GraphActions, users: FakeUsers) -> GraphService:
    return GraphService(store=store, actions=actions, users=users)  # type: ignore[arg-type]


async def _follow(service: GraphService, follower: int, followee: int) -> user_pb2.Relationship:
    with acting_as(follower):
        return await service.Follow(pb.FollowRequest(username=NAMES[followee]), None)  # type: ignore[arg-type]


def _names(users: object) -> list[str]:
    return [u.username for u in users]  # type: ignore[attr-defined]


async def test_unknown_usernames_are_user_not_found(service: GraphService) -> None:
    with acting_as(ALICE), pytest.raises(errors.NotFound) as caught:
        await service.Follow(pb.FollowRequest(username="nobody"), None)  # type: ignore[arg-type]
    assert caught.value.reason == "USER_NOT_FOUND"


async def test_follow_of_a_protected_account_asks_and_accept_makes_a_follower(
    service: GraphService, users: FakeUsers
) -> None:
    users.protected.add(BOB)
    assert await _follow(service, ALICE, BOB) == user_pb2.Relationship(follow_requested=True)
    with acting_as(BOB):
        listed = await service.ListFollowRequests(pb.ListFollowRequestsRequest(), None)  # type: ignore[arg-type]
        assert _names(listed.users) == ["alice"]
        assert listed.users[0].relationship == user_pb2.Relationship()  # a request is not a follow
        accepted = await service.AcceptFollowRequest(pb.AcceptFollowRequestRequest(username="alice"), None)  # type: ignore[arg-type]
        assert accepted == user_pb2.Relationship(followed_by=True)
        followers = await service.ListFollowers(pb.ListFollowersRequest(username="bob"), None)  # type: ignore[arg-type]
    assert _names(followers.users) == ["alice"]


@pytest.mark.parametrize(
    ("viewer", "reason"),
    [
        (None, "ACCOUNT_PROTECTED"),  # anonymous
        (CAROL, "ACCOUNT_PROTECTED"),  # a stranger
        (DAVE, "ACCOUNT_PROTECTED"),  # asked, not yet accepted
        (ERIN, "BLOCKED"),  # blocked by the owner, and was a follower until then
    ],
)
async def test_a_protected_accounts_lists_are_hidden_from_all_but_followers(
    service: GraphService, users: FakeUsers, viewer: int | None, reason: str
) -> None:
    await _follow(service, ALICE, BOB)
    await _follow(service, ERIN, BOB)
    users.protected.add(BOB)
    await _follow(service, DAVE, BOB)
    with acting_as(BOB):
        await service.Block(pb.BlockRequest(username="erin"), None)  # type: ignore[arg-type]
    for request in (pb.ListFollowersRequest(username="bob"), pb.ListFollowingRequest(username="bob")):
        method = service.ListFollowers if isinstance(request, pb.ListFollowersRequest) else service.ListFollowing
        with acting_as(viewer), pytest.raises(errors.PermissionDenied) as caught:
            await method(request, None)  # type: ignore[arg-type]
        assert caught.value.reason == reason
    for allowed in (ALICE, BOB):  # the approved follower and the owner
        with acting_as(allowed):
            listed = await service.ListFollowers(pb.ListFollowersRequest(username="bob"), None)  # type: ignore[arg-type]
        assert _names(listed.users) == ["alice"]


async def test_a_public_accounts_lists_are_hidden_only_by_a_block(service: GraphService) -> None:
    await _follow(service, ALICE, BOB)
    with acting_as(None):
        anonymous = await service.ListFollowers(pb.ListFollowersRequest(username="bob"), None)  # type: ignore[arg-type]
    assert _names(anonymous.users) == ["alice"]
    assert not anonymous.users[0].HasField("relationship")
    with acting_as(CAROL):
        await service.Block(pb.BlockRequest(username="bob"), None)  # type: ignore[arg-type]
        with pytest.raises(errors.PermissionDenied) as caught:  # the blocker sees nothing of the blocked either
            await service.ListFollowing(pb.ListFollowingRequest(username="bob"), None)  # type: ignore[arg-type]
    assert caught.value.reason == "BLOCKED"


async def test_lists_leave_out_users_blocked_either_way_and_carry_the_viewers_relationship(
    service: GraphService,
) -> None:
    for follower in (ALICE, CAROL, DAVE, ERIN):
        await _follow(service, follower, BOB)
    await _follow(service, ALICE, DAVE)
    with acting_as(ALICE):
        await service.Block(pb.BlockRequest(username="carol"), None)  # type: ignore[arg-type]
        await service.Mute(pb.MuteRequest(username="erin"), None)  # type: ignore[arg-type]
    with acting_as(DAVE):
        await service.Block(pb.BlockRequest(username="alice"), None)  # type: ignore[arg-type]
    with acting_as(ALICE):
        listed = await service.ListFollowers(pb.ListFollowersRequest(username="bob"), None)  # type: ignore[arg-type]
    assert _names(listed.users) == ["erin", "alice"]  # newest first; carol and dave left out
    erin, alice = listed.users
    assert erin.relationship == user_pb2.Relationship(muting=True)
    assert not alice.HasField("relationship")  # the viewer's own entry


async def test_lists_page_without_repeats(service: GraphService) -> None:
    for follower in (ALICE, CAROL, DAVE, ERIN):
        await _follow(service, follower, BOB)
    seen: list[str] = []
    token = ""
    while True:
        page = await service.ListFollowers(pb.ListFollowersRequest(username="bob", page_size=3, page_token=token), None)  # type: ignore[arg-type]
        seen += _names(page.users)
        token = page.next_page_token
        if not token:
            break
    assert seen == ["erin", "dave", "carol", "alice"]


@pytest.mark.parametrize(
    "token", ["x", "-1", "1.5", "99999999999999999999", "9223372036854775808", "²", "\u0661\u0662", "12\n", " 12"]
)
async def test_page_tokens_not_issued_are_invalid(service: GraphService, token: str) -> None:
    with acting_as(ALICE), pytest.raises(errors.InvalidArgument) as caught:
        await service.ListFollowers(pb.ListFollowersRequest(username="bob", page_token=token), None)  # type: ignore[arg-type]
    assert caught.value.reason == "INVALID_PAGE_TOKEN"
    with acting_as(ALICE), pytest.raises(errors.InvalidArgument):
        await service.ListFollowerIds(pb.ListFollowerIdsRequest(user_id=BOB, page_token=token), None)  # type: ignore[arg-type]
    with acting_as(ALICE), pytest.raises(errors.InvalidArgument):
        await service.ListSuggestions(pb.ListSuggestionsRequest(page_token=token), None)  # type: ignore[arg-type]


async def test_batch_relationships_answer_every_requested_id(service: GraphService) -> None:
    await _follow(service, ALICE, BOB)
    await _follow(service, CAROL, ALICE)
    answer = await service.BatchGetRelationships(
        pb.BatchGetRelationshipsRequest(source_user_id=ALICE, target_user_ids=[BOB, CAROL, 999, ALICE, BOB]),
        None,  # type: ignore[arg-type]
    )
    assert dict(answer.relationships) == {
        BOB: user_pb2.Relationship(following=True),
        CAROL: user_pb2.Relationship(followed_by=True),
        999: user_pb2.Relationship(),
        ALICE: user_pb2.Relationship(),
    }
    single = await service.GetRelationship(pb.GetRelationshipRequest(source_user_id=CAROL, target_user_id=ALICE), None)  # type: ignore[arg-type]
    assert single.relationship == user_pb2.Relationship(following=True)


async def test_follower_id_pages_default_to_the_documented_thousand(service: GraphService, store: GraphStore) -> None:
    async with store.writing() as w:
        await w.tx.execute_many(
            "INSERT INTO follows (follower_id, followee_id, follow_id, created_at) VALUES (?, ?, ?, 0)",
            [(follower, BOB, follower) for follower in range(10, 1210)],
        )
    first = await service.ListFollowerIds(pb.ListFollowerIdsRequest(user_id=BOB), None)  # type: ignore[arg-type]
    assert len(first.user_ids) == 1000
    rest = await service.ListFollowerIds(
        pb.ListFollowerIdsRequest(user_id=BOB, page_token=first.next_page_token),
        None,  # type: ignore[arg-type]
    )
    assert sorted([*first.user_ids, *rest.user_ids]) == list(range(10, 1210))
    assert rest.next_page_token == ""


async def test_suggestions_skip_non_discoverable_users_and_page_on(service: GraphService, users: FakeUsers) -> None:
    # alice follows bob; bob follows carol, dave and erin, who rank by their follower counts.
    await _follow(service, ALICE, BOB)
    for candidate in (CAROL, DAVE, ERIN):
        await _follow(service, BOB, candidate)
    await _follow(service, ERIN, DAVE)
    await _follow(service, ERIN, CAROL)
    await _follow(service, DAVE, CAROL)  # carol 3 followers, dave 2, erin 1
    users.hidden.add(DAVE)
    with acting_as(ALICE):
        first = await service.ListSuggestions(pb.ListSuggestionsRequest(page_size=1), None)  # type: ignore[arg-type]
        second = await service.ListSuggestions(
            pb.ListSuggestionsRequest(page_size=1, page_token=first.next_page_token),
            None,  # type: ignore[arg-type]
        )
    assert _names(first.users) == ["carol"]
    assert _names(second.users) == ["erin"]  # dave, next in rank, is not discoverable
    assert second.next_page_token == ""
    assert first.users[0].relationship == user_pb2.Relationship()
