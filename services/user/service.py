"""UserService: profiles, lookups for other services, and the viewer's relationship on every profile read."""

from __future__ import annotations

from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.kit import errors
from services.kit.identity import current_user_id, require_user
from services.kit.server import Context
from services.user.accounts import Accounts, NoSuchUser
from services.user.convert import to_proto
from services.user.profile import ProfilePatch, UnknownPath
from services.user.rules import ProfileRuleError, normalize_email, username_problem
from services.user.scan import UserScan
from services.user.store import DuplicateUser, UserStore

__all__ = ["UserService"]


class UserService(user_service_pb2_grpc.UserServiceServicer):
    def __init__(self, *, store: UserStore, accounts: Accounts, graph: graph_service_pb2_grpc.GraphServiceStub) -> None:
        self._store = store
        self._accounts = accounts
        self._graph = graph

    async def CreateUser(
        self, request: user_service_pb2.CreateUserRequest, context: Context
    ) -> user_service_pb2.CreateUserResponse:
        problem = username_problem(request.username)
        if problem:
            raise errors.InvalidArgument("INVALID_USERNAME", problem, field="username")
        try:
            profile = await self._accounts.register(
                username=request.username,
                email=request.email,
                display_name=request.display_name,
                request_id=request.request_id,
            )
        except DuplicateUser as exc:
            raise errors.AlreadyExists(
                f"{exc.field.upper()}_TAKEN", f"that {exc.field} is already registered", field=exc.field
            ) from exc
        except ProfileRuleError as exc:
            raise errors.InvalidArgument(exc.reason, str(exc), field="display_name") from exc
        return user_service_pb2.CreateUserResponse(user=to_proto(profile, with_email=True))

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
        return user_service_pb2.LookupUserResponse(user=to_proto(profile, with_email=True))

    async def BatchGetUsers(
        self, request: user_service_pb2.BatchGetUsersRequest, context: Context
    ) -> user_service_pb2.BatchGetUsersResponse:
        found = await self._store.by_ids(request.ids)
        return user_service_pb2.BatchGetUsersResponse(users=[to_proto(found[i]) for i in request.ids if i in found])

    async def GetMe(self, request: user_service_pb2.GetMeRequest, context: Context) -> user_pb2.User:
        profile = await self._store.by_id(require_user())
        if profile is None:
            raise errors.NotFound("USER_NOT_FOUND", "your account no longer exists")
        return to_proto(profile, with_email=True)

    async def UpdateMe(self, request: user_service_pb2.UpdateMeRequest, context: Context) -> user_pb2.User:
        me = require_user()
        sent = request.user
        patch = ProfilePatch(
            display_name=sent.display_name if sent.HasField("display_name") else None,
            bio=sent.bio if sent.HasField("bio") else None,
            protected=sent.protected if sent.HasField("protected") else None,
            discoverable=sent.discoverable if sent.HasField("discoverable") else None,
        )
        try:
            profile = await self._accounts.update(me, patch, list(request.update_mask.paths))
        except NoSuchUser as exc:
            raise errors.NotFound("USER_NOT_FOUND", "your account no longer exists") from exc
        except UnknownPath as exc:
            raise errors.InvalidArgument("INVALID_UPDATE_MASK", str(exc), field="update_mask") from exc
        except ProfileRuleError as exc:
            raise errors.InvalidArgument(exc.reason, str(exc), field=exc.field) from exc
        return to_proto(profile, with_email=True)

    async def GetUser(self, request: user_service_pb2.GetUserRequest, context: Context) -> user_pb2.User:
        # A profile is public: protected accounts and users who block the viewer answer too, with the
        # relationship telling the viewer so (see the contract); their tweets are the tweet service's call.
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

    async def ScanUsers(
        self, request: user_service_pb2.ScanUsersRequest, context: Context
    ) -> user_service_pb2.ScanUsersResponse:
        # Added for the search backfill without touching this service's wiring: the scan reads the store's
        # database. Once __main__ hands the servicer a UserScan, use that instead.
        users = await UserScan(self._store._db).page(after_id=request.after_id, limit=request.limit)
        return user_service_pb2.ScanUsersResponse(users=users)
