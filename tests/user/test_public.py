"""The user service's public module: the summary other services embed, and name resolution for them."""

from __future__ import annotations

from typing import Any, cast

import grpc
import pytest
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.kit import errors
from services.user.public import summary_of, user_by_username

ALICE = user_pb2.User(
    id=7, username="alice", display_name="Alice", avatar_url="https://example.com/a.png", protected=True, bio="hi"
)


def test_a_summary_is_the_users_id_names_avatar_and_protection() -> None:
    assert summary_of(ALICE) == user_pb2.UserSummary(
        id=7, username="alice", display_name="Alice", avatar_url="https://example.com/a.png", protected=True
    )


class _Users:
    def __init__(self, answer: user_pb2.User | grpc.StatusCode) -> None:
        self.answer = answer
        self.asked: list[str] = []

    async def LookupUser(self, request: user_service_pb2.LookupUserRequest, **_: Any) -> Any:
        self.asked.append(request.username)
        if isinstance(self.answer, grpc.StatusCode):
            raise grpc.aio.AioRpcError(self.answer, grpc.aio.Metadata(), grpc.aio.Metadata(), "from the user service")
        return user_service_pb2.LookupUserResponse(user=self.answer)


def _stub(users: _Users) -> user_service_pb2_grpc.UserServiceStub:
    return cast(user_service_pb2_grpc.UserServiceStub, users)


async def test_a_username_resolves_to_its_user() -> None:
    users = _Users(ALICE)
    assert await user_by_username(_stub(users), "alice") == ALICE
    assert users.asked == ["alice"]


async def test_an_unknown_username_is_not_found_in_the_callers_words() -> None:
    with pytest.raises(errors.NotFound) as caught:
        await user_by_username(_stub(_Users(grpc.StatusCode.NOT_FOUND)), "nobody")
    assert (caught.value.reason, caught.value.message) == ("USER_NOT_FOUND", "there is no user @nobody")


async def test_any_other_failure_of_the_user_service_is_passed_on() -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await user_by_username(_stub(_Users(grpc.StatusCode.UNAVAILABLE)), "alice")
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
