"""GraphService: converts between the contract and the graph's domain (actions, store, suggestions, and the
visibility rule of its public module).

Usernames are resolved, and listed users hydrated, through the user service; everything about the graph itself
comes from this service's own store.
"""

from __future__ import annotations

from chirp.graph.v1 import graph_service_pb2 as pb
from chirp.graph.v1 import graph_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.graph import suggestions
from services.graph.actions import GraphActions
from services.graph.model import NO_RELATION, Edge, Relation
from services.graph.public import check_can_see, hidden_by_block
from services.graph.store import GraphStore
from services.kit import errors, paging
from services.kit.identity import current_user_id, require_user
from services.kit.server import Context
from services.user.public import user_by_username

__all__ = ["GraphService", "to_proto"]

# The default page of the internal id lists, as the contract documents (callers usually ask for more).
_ID_PAGE = 1000
_INT64_MAX = 2**63 - 1


def to_proto(relation: Relation) -> user_pb2.Relationship:
    return user_pb2.Relationship(
        following=relation.following,
        followed_by=relation.followed_by,
        follow_requested=relation.follow_requested,
        blocking=relation.blocking,
        blocked_by=relation.blocked_by,
        muting=relation.muting,
    )


def _cursor(token: str) -> int | None:
    """The id a page token carries, or INVALID_PAGE_TOKEN. Stricter than `paging.parse_token` alone, which lets
    through ids beyond int64 (SQLite cannot bind them) and non-ASCII digits such as "²" (int() rejects them):
    either would be a 500 instead of a 400."""
    if token and not (token.isascii() and token.isdigit() and int(token) <= _INT64_MAX):
        raise errors.InvalidArgument(
            "INVALID_PAGE_TOKEN", "page_token is not one this API returned", field="page_token"
        )
    return paging.parse_token(token)


def _next_token(edges: list[Edge], size: int) -> str:
    return paging.next_token([e.edge_id for e in edges], size=size)


class GraphService(graph_service_pb2_grpc.GraphServiceServicer):
    def __init__(
        self, *, store: GraphStore, actions: GraphActions, users: user_service_pb2_grpc.UserServiceStub
    ) -> None:
        self._store = store
        self._actions = actions
        self._users = users

    # --- actions ---------------------------------------------------------------------------------------------

    async def Follow(self, request: pb.FollowRequest, context: Context) -> user_pb2.Relationship:
        me = require_user()
        target = await user_by_username(self._users, request.username)
        return to_proto(await self._actions.follow(me, target.id, target_protected=target.protected))

    async def Unfollow(self, request: pb.UnfollowRequest, context: Context) -> user_pb2.Relationship:
        me = require_user()
        return to_proto(await self._actions.unfollow(me, await self._user_id(request.username)))

    async def Block(self, request: pb.BlockRequest, context: Context) -> user_pb2.Relationship:
        me = require_user()
        return to_proto(await self._actions.block(me, await self._user_id(request.username)))

    async def Unblock(self, request: pb.UnblockRequest, context: Context) -> user_pb2.Relationship:
        me = require_user()
        return to_proto(await self._actions.unblock(me, await self._user_id(request.username)))

    async def Mute(self, request: pb.MuteRequest, context: Context) -> user_pb2.Relationship:
        me = require_user()
        return to_proto(await self._actions.mute(me, await self._user_id(request.username)))

    async def Unmute(self, request: pb.UnmuteRequest, context: Context) -> user_pb2.Relationship:
        me = require_user()
        return to_proto(await self._actions.unmute(me, await self._user_id(request.username)))

    async def AcceptFollowRequest(
        self, request: pb.AcceptFollowRequestRequest, context: Context
    ) -> user_pb2.Relationship:
        me = require_user()
        return to_proto(await self._actions.accept(me, await self._user_id(request.username)))

    async def RejectFollowRequest(
        self, request: pb.RejectFollowRequestRequest, context: Context
    ) -> user_pb2.Relationship:
        me = require_user()
        return to_proto(await self._actions.reject(me, await self._user_id(request.username)))

    # --- public lists ----------------------------------------------------------------------------------------

    async def ListFollowers(self, request: pb.ListFollowersRequest, context: Context) -> pb.ListFollowersResponse:
        viewer, owner = await self._visible_owner(request.username)
        size = paging.page_size(request.page_size)
        edges = await self._store.followers(owner, before=_cursor(request.page_token), limit=size)
        return pb.ListFollowersResponse(
            users=await self._hydrate(viewer, edges), next_page_token=_next_token(edges, size)
        )

    async def ListFollowing(self, request: pb.ListFollowingRequest, context: Context) -> pb.ListFollowingResponse:
        viewer, owner = await self._visible_owner(request.username)
        size = paging.page_size(request.page_size)
        edges = await self._store.followees(owner, before=_cursor(request.page_token), limit=size)
        return pb.ListFollowingResponse(
            users=await self._hydrate(viewer, edges), next_page_token=_next_token(edges, size)
        )

    async def ListFollowRequests(
        self, request: pb.ListFollowRequestsRequest, context: Context
    ) -> pb.ListFollowRequestsResponse:
        me = require_user()
        size = paging.page_size(request.page_size)
        edges = await self._store.follow_requests(me, before=_cursor(request.page_token), limit=size)
        return pb.ListFollowRequestsResponse(
            users=await self._hydrate(me, edges), next_page_token=_next_token(edges, size)
        )

    async def ListSuggestions(self, request: pb.ListSuggestionsRequest, context: Context) -> pb.ListSuggestionsResponse:
        me = require_user()
        users, token = await suggestions.suggest(
            self._store,
            me,
            after=suggestions.decode_token(request.page_token),
            size=paging.page_size(request.page_size),
            profiles=self._profiles,
        )
        relations = await self._store.relationships(me, [u.id for u in users])
        for user in users:
            user.relationship.CopyFrom(to_proto(relations[user.id]))
        return pb.ListSuggestionsResponse(users=users, next_page_token=token)

    # --- internal --------------------------------------------------------------------------------------------

    async def GetRelationship(self, request: pb.GetRelationshipRequest, context: Context) -> pb.GetRelationshipResponse:
        relation = await self._store.relationship(request.source_user_id, request.target_user_id)
        return pb.GetRelationshipResponse(relationship=to_proto(relation))

    async def BatchGetRelationships(
        self, request: pb.BatchGetRelationshipsRequest, context: Context
    ) -> pb.BatchGetRelationshipsResponse:
        relations = await self._store.relationships(request.source_user_id, request.target_user_ids)
        answer = pb.BatchGetRelationshipsResponse()
        for target, relation in relations.items():
            answer.relationships[target].CopyFrom(to_proto(relation))
        return answer

    async def ListFollowerIds(self, request: pb.ListFollowerIdsRequest, context: Context) -> pb.ListFollowerIdsResponse:
        size = paging.page_size(request.page_size, default=_ID_PAGE)
        ids = await self._store.follower_ids(request.user_id, after=_cursor(request.page_token) or 0, limit=size)
        return pb.ListFollowerIdsResponse(user_ids=ids, next_page_token=paging.next_token(ids, size=size))

    async def ListFollowingIds(
        self, request: pb.ListFollowingIdsRequest, context: Context
    ) -> pb.ListFollowingIdsResponse:
        size = paging.page_size(request.page_size, default=_ID_PAGE)
        ids = await self._store.following_ids(request.user_id, after=_cursor(request.page_token) or 0, limit=size)
        return pb.ListFollowingIdsResponse(user_ids=ids, next_page_token=paging.next_token(ids, size=size))

    # --- helpers ---------------------------------------------------------------------------------------------

    async def _user_id(self, username: str) -> int:
        user_id: int = (await user_by_username(self._users, username)).id
        return user_id

    async def _visible_owner(self, username: str) -> tuple[int | None, int]:
        """The viewer and the id of the user whose lists they ask for; PERMISSION_DENIED if hidden from them."""
        viewer = current_user_id()
        owner = await user_by_username(self._users, username)
        relation = await self._store.relationship(viewer, owner.id) if viewer is not None else None
        check_can_see(viewer, owner_id=owner.id, owner_protected=owner.protected, relationship=relation)
        owner_id: int = owner.id
        return viewer, owner_id

    async def _profiles(self, ids: list[int]) -> list[user_pb2.User]:
        if not ids:
            return []
        answer = await self._users.BatchGetUsers(user_service_pb2.BatchGetUsersRequest(ids=ids))
        return list(answer.users)

    async def _hydrate(self, viewer: int | None, edges: list[Edge]) -> list[user_pb2.User]:
        """The listed users' profiles, without those a block hides from the viewer, each with the viewer's
        relationship to them (none for the viewer's own entry, nor for anonymous viewers)."""
        users = await self._profiles([e.user_id for e in edges])
        if viewer is None:
            return users
        relations = await self._store.relationships(viewer, [u.id for u in users])
        shown = []
        for user in users:
            relation = relations.get(user.id, NO_RELATION)
            if hidden_by_block(relation):
                continue
            if user.id != viewer:
                user.relationship.CopyFrom(to_proto(relation))
            shown.append(user)
        return shown
