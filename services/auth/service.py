"""AuthService: accounts, sessions, refresh-token rotation and the JWKS."""

from __future__ import annotations

import time

import grpc
from chirp.auth.v1 import auth_pb2, auth_service_pb2, auth_service_pb2_grpc
from chirp.user.v1 import user_pb2, user_service_pb2, user_service_pb2_grpc

from services.auth import keys as signing
from services.auth.passwords import PasswordPolicyError, Passwords, check_policy
from services.auth.store import AuthStore, RefreshToken
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
        users: user_service_pb2_grpc.UserServiceStub,
        access_ttl: int,
        refresh_ttl: int,
        key_rotation: int,
    ) -> None:
        self._store = store
        self._passwords = passwords
        self._users = users
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._key_rotation = key_rotation
        self._keys: list[signing.SigningKey] = []

    async def load_keys(self) -> None:
        """Load the signing keys, creating or rotating the active one when it is due."""
        now = time.time()
        self._keys = await self._store.signing_keys()
        active = [k for k in self._keys if k.retired_at is None]
        if not active or now - active[-1].created_at >= self._key_rotation:
            await self._store.add_signing_key(signing.generate_key(now), now=now)
            self._keys = await self._store.signing_keys()

    @property
    def _signing_key(self) -> signing.SigningKey:
        return [k for k in self._keys if k.retired_at is None][-1]

    async def CreateAccount(
        self, request: auth_service_pb2.CreateAccountRequest, context: Context
    ) -> user_pb2.User:
        try:
            check_policy(request.password, username=request.username, email=request.email)
        except PasswordPolicyError as exc:
            raise errors.InvalidArgument("WEAK_PASSWORD", str(exc), field="password") from exc
        password_hash = await self._passwords.hash(request.password)
        created = await self._users.CreateUser(
            user_service_pb2.CreateUserRequest(
                username=request.username, email=request.email, display_name=request.display_name
            )
        )
        user: user_pb2.User = created.user
        await self._store.put_credentials(user.id, password_hash, now=time.time())
        return user

    async def CreateSession(
        self, request: auth_service_pb2.CreateSessionRequest, context: Context
    ) -> auth_service_pb2.CreateSessionResponse:
        user = await self._find_login(request.login)
        stored = None if user is None else await self._store.password_hash(user.id)
        if not await self._passwords.verify(stored, request.password) or user is None:
            raise errors.Unauthenticated("INVALID_CREDENTIALS", "the login or the password is wrong")
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
            access_token=sign_access_token(self._signing_key, user_id=user.id, now=now, ttl=self._access_ttl),
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
            access_token=sign_access_token(self._signing_key, user_id=old.user_id, now=now, ttl=self._access_ttl),
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
        live = signing.published(self._keys, token_ttl=self._access_ttl, now=time.time())
        return auth_service_pb2.GetJwksResponse(keys=[auth_pb2.Jwk(**k.jwk()) for k in live])

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
