"""Profiles to their protobuf form, for answers and events."""

from __future__ import annotations

from chirp.user.v1 import user_pb2

from services.kit.timestamps import to_timestamp
from services.user.store import Profile

__all__ = ["to_proto"]


def to_proto(profile: Profile, *, with_email: bool = False) -> user_pb2.User:
    """The `User` message of `profile`; `email` only when asked (the user themself, internal callers)."""
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
