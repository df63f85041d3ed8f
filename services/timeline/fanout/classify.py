"""Users' classes as the fan-out needs them: is an author famous, is a reader inactive.

The classification service decides (ClassificationService.GetUserClass). While it answers UNIMPLEMENTED (not
deployed) or UNAVAILABLE, the worker falls back on rules it can apply itself: famous means at least
CHIRP_FAMOUS_FOLLOWERS followers (UserService.BatchGetUsers), and inactive means having no cached home
timeline (which the fan-out sees by itself). The classification service is asked again a minute later, so
deploying it needs no restart here.
"""

from __future__ import annotations

import logging
import time

import grpc
from chirp.classification.v1 import classification_pb2, classification_service_pb2, classification_service_pb2_grpc
from chirp.user.v1 import user_service_pb2, user_service_pb2_grpc

__all__ = ["Classifier"]

log = logging.getLogger(__name__)

_RETRY_AFTER_S = 60.0
_FALLBACK_CODES = (grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.UNAVAILABLE)


class Classifier:
    def __init__(
        self,
        *,
        classification: classification_service_pb2_grpc.ClassificationServiceStub,
        users: user_service_pb2_grpc.UserServiceStub,
        famous_followers: int,
    ) -> None:
        self._classification = classification
        self._users = users
        self._threshold = famous_followers
        self._fallback_until = 0.0

    async def user_class(self, user_id: int) -> int | None:
        """The user's class (a `classification_pb2.UserClass` value) by the classification service; None while
        it does not answer."""
        if time.monotonic() < self._fallback_until:
            return None
        try:
            answer = await self._classification.GetUserClass(
                classification_service_pb2.GetUserClassRequest(user_id=user_id)
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in _FALLBACK_CODES:
                raise
            log.info(
                "classification answers %s; counting followers (famous from %d) for %ds",
                exc.code().name, self._threshold, _RETRY_AFTER_S,
            )  # fmt: skip
            self._fallback_until = time.monotonic() + _RETRY_AFTER_S
            return None
        found: int = answer.classification.user_class
        return found

    async def is_famous(self, user_id: int) -> bool:
        found = await self.user_class(user_id)
        if found is not None:
            return found == classification_pb2.USER_CLASS_FAMOUS
        users = await self._users.BatchGetUsers(user_service_pb2.BatchGetUsersRequest(ids=[user_id]))
        return any(u.follower_count >= self._threshold for u in users.users)
