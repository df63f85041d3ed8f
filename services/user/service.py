"""UserService: profiles, lookups for other services, and the viewer's relationship on every profile read."""

from __future__ import annotations

import time

from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.kit import errors
from services.kit.identity import current_user_id, require_user
from services.kit.server import Context
from services.kit.snowflake import Snowflake
from services.kit.timestamps import to_timestamp
from services.user.rules import normalize_email, username_problem
from services.user.store import DuplicateUser, Profile, UserStore

__all__ = ["UserService", "to_proto"]


def to_proto(profile: Profile, *, with_email: bool = False) -> user_pb2.User:
    user = user_pb2.User(
        id=profile.id,
        username=profile.username,
        display_name=profile.display_name,
        bio=profile.bio,
        avatar_url=profile.avatar_url,
        protected=profile.protected,
        discoverable=profile.discoverable,
        created_at=to_timestamp(profile.created_at),
        follower_count=profile.follower_count,
        following_count=profile.following_count,
        tweet_count=profile.tweet_count,
    )
    if with_email:
        user.email = profile.email
    return user


class UserService(user_service_pb2_grpc.UserServiceServicer):
    def __init__(
        self, *, store: UserStore, ids: Snowflake, graph: graph_service_pb2_grpc.GraphServiceStub
    ) -> None:
        self._store = store
        self._ids = ids
        self._graph = graph

    async def CreateUser(
        self, request: user_service_pb2.CreateUserRequest, context: Context
    ) -> user_service_pb2.CreateUserResponse:
        problem = username_problem(request.username)
        if problem:
            raise errors.InvalidArgument("INVALID_USERNAME", problem, field="username")
        profile = Profile(
            id=self._ids.next_id(),
            username=request.username,
            email=request.email.strip(),
            display_name=request.display_name or request.username,
            bio="",
            avatar_url="",
            protected=False,
            discoverable=True,
            created_at=time.time(),
            follower_count=0,
            following_count=0,
            tweet_count=0,
        )
        try:
            await self._store.create(
                profile, username_key=request.username.casefold(), email_key=normalize_email(request.email)
            )
        except DuplicateUser as exc:
            raise errors.AlreadyExists(
                f"{exc.field.upper()}_TAKEN", f"that {exc.field} is already registered", field=exc.field
            ) from exc
        return user_service_pb2.CreateUserResponse(user=to_proto(profile))

    async def LookupUser(
        self, request: user_service_pb2.LookupUserRequest, context: Context
    ) -> user_service_pb2.LookupUserResponse:
        key = request.WhichOneof("key")
        if key == "id":
            profile = await self._store.by_id(request.id)
        elif key == "username":
            profile = await self._store.by_username(request.username)
        else:
            profile = await self._store.by_email(normalize_email(request.email))
        if profile is None:
            raise errors.NotFound("USER_NOT_FOUND", "no such user")
        return user_service_pb2.LookupUserResponse(user=to_proto(profile))

    async def BatchGetUsers(
        self, request: user_service_pb2.BatchGetUsersRequest, context: Context
    ) -> user_service_pb2.BatchGetUsersResponse:
        found = await self._store.by_ids(request.ids)
        return user_service_pb2.BatchGetUsersResponse(
            users=[to_proto(found[i]) for i in request.ids if i in found]
        )

    async def GetMe(
        self, request: user_service_pb2.GetMeRequest, context: Context
    ) -> user_pb2.User:
        profile = await self._store.by_id(require_user())
        if profile is None:
            raise errors.NotFound("USER_NOT_FOUND", "your account no longer exists")
        return to_proto(profile, with_email=True)

    async def GetUser(
        self, request: user_service_pb2.GetUserRequest, context: Context
    ) -> user_pb2.User:
        profile = await self._store.by_username(request.username)
        if profile is None:
            raise errors.NotFound("USER_NOT_FOUND", f"there is no user @{request.username}")
        user = to_proto(profile)
        viewer = current_user_id()
        if viewer is not None and viewer != profile.id:
            answer = await self._graph.GetRelationship(
                graph_service_pb2.GetRelationshipRequest(source_user_id=viewer, target_user_id=profile.id)
            )
            user.relationship.CopyFrom(answer.relationship)
        return user
