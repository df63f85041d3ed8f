"""Access tokens (short-lived JWTs, verified by Envoy) and refresh tokens (opaque, stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

import jwt

from services.auth.keys import ALGORITHM, SigningKey

__all__ = ["ISSUER", "NewRefreshToken", "hash_refresh_token", "new_refresh_token", "sign_access_token"]

# Envoy's jwt_authn provider accepts only this issuer (stack/envoy_config.py).
ISSUER = "chirp"


def sign_access_token(key: SigningKey, *, user_id: int, now: float, ttl: float) -> str:
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "iat": int(now),
        "exp": int(now + ttl),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


@dataclass(frozen=True, slots=True)
class NewRefreshToken:
    token: str  # what the client holds; never stored
    token_hash: str  # what we store


def hash_refresh_token(token: str) -> str:
    # The token is 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> NewRefreshToken:
    token = secrets.token_urlsafe(32)
    return NewRefreshToken(token=token, token_hash=hash_refresh_token(token))
