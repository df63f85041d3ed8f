"""The user service's public module: what other services may take from the user domain besides its stub and events.

- `summary_of`: the compact form of a user that tweets, notifications and conversations embed;
- `user_by_username`: name resolution through the user service's LookupUser, with the not-found answer in the
  caller's words.

Nothing else of `services/user/` is imported by another service (tests/test_boundaries.py).
"""

from __future__ import annotations

import grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.kit import errors

__all__ = ["summary_of", "user_by_username"]


def summary_of(user: user_pb2.User) -> user_pb2.UserSummary:
    return user_pb2.UserSummary(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        avatar_url=user.avatar_url,
        protected=user.protected,
    )


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
