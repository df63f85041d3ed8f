"""The auth service as a process runs it (`setup` under the kit's `serving`), with a fake user service in the
mesh's place: key rotation by its background task, throttling by the client address in the call's metadata,
and idempotent registration."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from chirp.auth.v1 import auth_service_pb2 as pb
from chirp.auth.v1 import auth_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.auth.__main__ import setup
from services.auth.keys import ALGORITHM
from services.auth.settings import AuthSettings
from services.kit import errors
from services.kit.server import Context, serving

PASSWORD = "correct horse battery"


class FakeUsers(user_service_pb2_grpc.UserServiceServicer):
    """Just enough of the user service: registration and lookup, in memory."""

    def __init__(self) -> None:
        self.users: dict[str, user_pb2.User] = {}
        self.by_request: dict[str, user_pb2.User] = {}

    async def CreateUser(
        self, request: user_service_pb2.CreateUserRequest, context: Context
    ) -> user_service_pb2.CreateUserResponse:
        if request.request_id in self.by_request:
            return user_service_pb2.CreateUserResponse(user=self.by_request[request.request_id])
        user = user_pb2.User(id=len(self.users) + 1, username=request.username, email=request.email)
        self.users[request.username.casefold()] = user
        if request.request_id:
            self.by_request[request.request_id] = user
        return user_service_pb2.CreateUserResponse(user=user)

    async def LookupUser(
        self, request: user_service_pb2.LookupUserRequest, context: Context
    ) -> user_service_pb2.LookupUserResponse:
        user = self.users.get(request.username.casefold())
        if user is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such user")
        return user_service_pb2.LookupUserResponse(user=user)


@asynccontextmanager
async def auth_service(
    tmp_path: Path, fake: FakeUsers | None = None, **overrides: Any
) -> AsyncIterator[auth_service_pb2_grpc.AuthServiceStub]:
    users = grpc.aio.server()
    user_service_pb2_grpc.add_UserServiceServicer_to_server(fake or FakeUsers(), users)
    users_port = users.add_insecure_port("127.0.0.1:0")
    await users.start()
    settings = AuthSettings(
        grpc_port=0,
        data_dir=tmp_path,
        mesh_addr=f"127.0.0.1:{users_port}",
        shutdown_grace=0.5,
        auth_argon2_time_cost=1,
        auth_argon2_memory_kib=8,
        **overrides,
    )
    try:
        async with serving("auth", settings, setup) as rt:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{rt.port}") as channel:
                yield auth_service_pb2_grpc.AuthServiceStub(channel)
    finally:
        await users.stop(0)


async def _login(auth: auth_service_pb2_grpc.AuthServiceStub, login: str, **kwargs: Any) -> pb.CreateSessionResponse:
    answer: pb.CreateSessionResponse = await auth.CreateSession(
        pb.CreateSessionRequest(login=login, password=PASSWORD), **kwargs
    )
    return answer


async def _jwks(auth: auth_service_pb2_grpc.AuthServiceStub) -> dict[str, Any]:
    answer = await auth.GetJwks(pb.GetJwksRequest())
    return {"keys": [{f.name: v for f, v in k.ListFields()} for k in answer.keys]}


async def test_the_running_service_rotates_its_key_and_old_tokens_still_verify(tmp_path: Path) -> None:
    async with auth_service(
        tmp_path, auth_key_rotation=2, auth_key_publish_ahead=1, auth_key_check_interval=0.05
    ) as auth:
        await auth.CreateAccount(pb.CreateAccountRequest(username="alice", email="a@example.com", password=PASSWORD))
        before = (await _login(auth, "alice")).access_token
        first_kid = jwt.get_unverified_header(before)["kid"]

        after = before
        for _ in range(200):  # up to 10 s; the rotation is due after 2
            after = (await _login(auth, "alice")).access_token
            if jwt.get_unverified_header(after)["kid"] != first_kid:
                break
            await asyncio.sleep(0.05)
        second_kid = jwt.get_unverified_header(after)["kid"]
        assert second_kid != first_kid, "no rotation"

        jwks = await _jwks(auth)
        # Both keys are published (a third, the next one, may be already too on a slow machine).
        assert {first_kid, second_kid} <= {k["kid"] for k in jwks["keys"]}
        keyset = jwt.PyJWKSet.from_json(json.dumps(jwks))
        for token in (before, after):
            key = keyset[jwt.get_unverified_header(token)["kid"]]
            assert jwt.decode(token, key, algorithms=[ALGORITHM], issuer="chirp")["sub"] == "1"


def _address(ip: str) -> tuple[tuple[str, str], ...]:
    return (("x-envoy-external-address", ip), ("x-forwarded-for", f"{ip}, 10.0.0.1"))


async def test_failures_from_one_address_lock_that_address(tmp_path: Path) -> None:
    async with auth_service(tmp_path, auth_login_max_failures_per_address=3) as auth:
        await auth.CreateAccount(pb.CreateAccountRequest(username="alice", email="a@example.com", password=PASSWORD))
        for n in range(3):  # spraying unknown accounts from one address
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await _login(auth, f"nobody{n}", metadata=_address("203.0.113.5"))
            assert errors.error_details(failed.value).reason == "INVALID_CREDENTIALS"
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _login(auth, "alice", metadata=_address("203.0.113.5"))  # even with the right password
        details = errors.error_details(refused.value)
        assert (details.code, details.reason, details.domain) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "TOO_MANY_ATTEMPTS",
            "chirp.auth",
        )
        assert details.metadata == {"retry_after_seconds": "30"}
        assert (await _login(auth, "alice", metadata=_address("203.0.113.6"))).access_token


async def test_a_retried_registration_answers_the_first_account_and_keeps_its_password(tmp_path: Path) -> None:
    async with auth_service(tmp_path) as auth:
        request = pb.CreateAccountRequest(username="alice", email="a@example.com", password=PASSWORD, request_id="r1")
        first = await auth.CreateAccount(request)
        request.password = "another fine passphrase"
        again = await auth.CreateAccount(request)
        assert again.id == first.id
        assert (await _login(auth, "alice")).user.id == first.id  # the first password still works
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await auth.CreateSession(pb.CreateSessionRequest(login="alice", password="another fine passphrase"))
        assert errors.error_details(failed.value).reason == "INVALID_CREDENTIALS"


async def test_a_weak_password_is_refused_before_the_account_is_made(tmp_path: Path) -> None:
    fake = FakeUsers()
    async with auth_service(tmp_path, fake) as auth:
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await auth.CreateAccount(
                pb.CreateAccountRequest(username="alice", email="a@example.com", password="password1")
            )
        details = errors.error_details(failed.value)
        assert (details.code, details.reason, details.fields) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "WEAK_PASSWORD",
            ["password"],
        )
    assert fake.users == {}  # no profile was made for it
