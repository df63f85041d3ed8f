"""The compact form of a user that tweets, notifications and conversations embed."""

from __future__ import annotations

from chirp.user.v1 import user_pb2

__all__ = ["summary_of"]


def summary_of(user: user_pb2.User) -> user_pb2.UserSummary:
    return user_pb2.UserSummary(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        avatar_url=user.avatar_url,
        protected=user.protected,
    )
