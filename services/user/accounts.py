"""Creating and changing profiles, each write committed together with the event that announces it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from chirp.user.v1 import user_events_pb2
from google.protobuf import field_mask_pb2

from services.kit.outbox import Outbox
from services.kit.snowflake import Snowflake
from services.kit.timestamps import to_timestamp
from services.user import profile as updates
from services.user.convert import to_proto
from services.user.rules import clean_display_name, normalize_email
from services.user.store import Profile, UserStore

__all__ = ["Accounts", "NoSuchUser"]


class NoSuchUser(LookupError):
    pass


class Accounts:
    def __init__(self, *, store: UserStore, outbox: Outbox, ids: Snowflake) -> None:
        self._store = store
        self._outbox = outbox
        self._ids = ids

    async def register(self, *, username: str, email: str, display_name: str, request_id: str) -> Profile:
        """Create the profile of a new account and announce it (`chirp.user.created`).

        A retry with the same non-empty `request_id`, username and email answers the profile the first call
        created. Raises DuplicateUser if the username or the email is taken, ProfileRuleError for a bad
        display name. The caller has checked the username (rules.username_problem).
        """
        username_key, email_key = username.casefold(), normalize_email(email)
        name = clean_display_name(display_name) if display_name.strip() else username
        async with self._store.transaction() as tx:
            earlier = await self._store.registered_by(
                tx, request_id=request_id, username_key=username_key, email_key=email_key
            )
            if earlier is not None:
                return earlier
            now = time.time()
            profile = Profile(
                id=self._ids.next_id(), username=username, email=email.strip(), display_name=name, bio="",
                avatar_url="", protected=False, discoverable=True, created_at=now,
                follower_count=0, following_count=0, tweet_count=0,
            )  # fmt: skip
            await self._store.insert(tx, profile, username_key=username_key, email_key=email_key, request_id=request_id)
            await self._outbox.add(
                tx,
                "chirp.user.created",
                user_events_pb2.UserCreated(user=to_proto(profile), occurred_at=to_timestamp(now)),
                msg_id=f"user.created:{profile.id}",
            )
        return profile

    async def update(self, user_id: int, patch: updates.ProfilePatch, mask: Sequence[str]) -> Profile:
        """Apply a profile update (see `profile.resolve`) and announce what changed (`chirp.user.updated`).

        Raises NoSuchUser, UnknownPath or ProfileRuleError. An update that changes nothing writes and
        publishes nothing.
        """
        async with self._store.transaction() as tx:
            current = await self._store.for_update(tx, user_id)
            if current is None:
                raise NoSuchUser(user_id)
            changes = updates.changes_to(current, updates.resolve(patch, mask, username=current.username))
            if not changes:
                return current
            await self._store.update_settings(tx, user_id, changes)
            updated = replace(current, **changes)
            now = time.time()
            await self._outbox.add(
                tx,
                "chirp.user.updated",
                user_events_pb2.UserUpdated(
                    user=to_proto(updated),
                    update_mask=field_mask_pb2.FieldMask(paths=[f for f in updates.UPDATABLE if f in changes]),
                    occurred_at=to_timestamp(now),
                ),
                # A fresh Snowflake: two updates in the same instant are still two events.
                msg_id=f"user.updated:{user_id}:{self._ids.next_id()}",
            )
        return updated
