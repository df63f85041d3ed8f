"""AuthService: accounts, sessions, refresh-token rotation and the JWKS."""

from __future__ import annotations

import time

import grpc
from chirp.auth.v1 import auth_pb2, auth_service_pb2, auth_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.auth.addresses import client_address
from services.auth.keyring import KeyRing
from services.auth.passwords import PasswordPolicyError, Passwords, check_policy
from services.auth.store import AuthStore, RefreshToken
from services.auth.throttle import LoginThrottle, TooManyAttempts
from services.auth.tokens import hash_refresh_token, new_refresh_token, sign_access_token
from services.kit import errors
from services.kit.server import Context

__all__ = ["AuthService"]


class AuthService(auth_service_pb2_grpc.AuthServiceServicer):
    def __init__(
        self,
        *,
        store: AuthStore,
        passwords: Passwords,
        keyring: KeyRing,
        throttle: LoginThrottle,
        users: user_service_pb2_grpc.UserServiceStub,
        access_ttl: int,
        refresh_ttl: int,
    ) -> None:
        self._store = store
        self._passwords = passwords
        self._keyring = keyring
        self._throttle = throttle
        self._users = users
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl

    async def CreateAccount(self, request: auth_service_pb2.CreateAccountRequest, context: Context) -> user_pb2.User:
        try:
            check_policy(request.password, username=request.username, email=request.email)
        except PasswordPolicyError as exc:
            raise errors.InvalidArgument("WEAK_PASSWORD", str(exc), field="password") from exc
        password_hash = await self._passwords.hash(request.password)
        created = await self._users.CreateUser(
            user_service_pb2.CreateUserRequest(
                username=request.username,
                email=request.email,
                display_name=request.display_name,
                request_id=request.request_id,
            )
        )
        user: user_pb2.User = created.user
        # False on a retry with the same request_id whose first call got this far: its password stays.
        await self._store.add_credentials(user.id, password_hash, now=time.time())
        return user

    async def CreateSession(
        self, request: auth_service_pb2.CreateSessionRequest, context: Context
    ) -> auth_service_pb2.CreateSessionResponse:
        user = await self._find_login(request.login)
        try:
            attempt = await self._throttle.begin(
                user_id=None if user is None else user.id,
                login=request.login,
                address=client_address(context.invocation_metadata() or (), context.peer()),
            )
        except TooManyAttempts as exc:
            seconds = exc.retry_after_seconds
            raise errors.ResourceExhausted(
                "TOO_MANY_ATTEMPTS",
                f"too many failed log-in attempts; try again in {seconds} seconds",
                metadata={"retry_after_seconds": str(seconds)},
            ) from exc
        stored = None if user is None else await self._store.password_hash(user.id)
        if not await self._passwords.verify(stored, request.password) or user is None:
            raise errors.Unauthenticated("INVALID_CREDENTIALS", "the login or the password is wrong")
        await self._throttle.succeeded(attempt)
        now = time.time()
        refresh = new_refresh_token()
        await self._store.add_refresh_token(
            RefreshToken(
                token_hash=refresh.token_hash,
                family_id=refresh.token_hash,  # a family is named after its first token
                user_id=user.id,
                expires_at=now + self._refresh_ttl,
                used_at=None,
                revoked_at=None,
            )
        )
        return auth_service_pb2.CreateSessionResponse(
            access_token=self._access_token(user.id, now),
            refresh_token=refresh.token,
            token_type="Bearer",
            expires_in=self._access_ttl,
            user=user,
        )

    async def RefreshSession(
        self, request: auth_service_pb2.RefreshSessionRequest, context: Context
    ) -> auth_service_pb2.RefreshSessionResponse:
        now = time.time()
        fresh = new_refresh_token()
        old = await self._store.rotate_refresh_token(
            hash_refresh_token(request.refresh_token),
            RefreshToken(fresh.token_hash, "", 0, now + self._refresh_ttl, None, None),
            now=now,
        )
        if old is None or old.revoked_at is not None or old.expires_at <= now:
            raise errors.Unauthenticated("INVALID_REFRESH_TOKEN", "the refresh token is unknown, revoked or expired")
        if old.used_at is not None:
            raise errors.Unauthenticated(
                "REFRESH_TOKEN_REUSED", "this refresh token was already used; the session has been revoked"
            )
        return auth_service_pb2.RefreshSessionResponse(
            access_token=self._access_token(old.user_id, now),
            refresh_token=fresh.token,
            token_type="Bearer",
            expires_in=self._access_ttl,
        )

    async def RevokeSession(
        self, request: auth_service_pb2.RevokeSessionRequest, context: Context
    ) -> auth_service_pb2.RevokeSessionResponse:
        # Revoking an unknown token answers success too: the caller's goal, a dead token, is met.
        await self._store.revoke_family_of(hash_refresh_token(request.refresh_token), now=time.time())
        return auth_service_pb2.RevokeSessionResponse()

    async def GetJwks(
        self, request: auth_service_pb2.GetJwksRequest, context: Context
    ) -> auth_service_pb2.GetJwksResponse:
        return auth_service_pb2.GetJwksResponse(keys=[auth_pb2.Jwk(**k.jwk()) for k in self._keyring.published()])

    def _access_token(self, user_id: int, now: float) -> str:
        return sign_access_token(self._keyring.signing_key(), user_id=user_id, now=now, ttl=self._access_ttl)

    async def _find_login(self, login: str) -> user_pb2.User | None:
        key = (
            user_service_pb2.LookupUserRequest(email=login)
            if "@" in login
            else user_service_pb2.LookupUserRequest(username=login)
        )
        try:
            found: user_pb2.User = (await self._users.LookupUser(key)).user
            return found
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise
