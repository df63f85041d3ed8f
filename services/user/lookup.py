"""Name resolution for other services: a username to its user, through the user service's LookupUser."""

from __future__ import annotations

import grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.kit import errors

__all__ = ["user_by_username"]


async def user_by_username(users: user_service_pb2_grpc.UserServiceStub, username: str) -> user_pb2.User:
    """The user called `username`. Raises NotFound USER_NOT_FOUND, in the caller's domain, when there is none."""
    try:
        found = await users.LookupUser(user_service_pb2.LookupUserRequest(username=username))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            raise errors.NotFound("USER_NOT_FOUND", f"there is no user @{username}") from exc
        raise
    user: user_pb2.User = found.user
    return user
