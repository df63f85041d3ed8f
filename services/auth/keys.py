"""The auth service's signing keys: ES256 key pairs, rotated without logging anyone out.

The newest key signs; every key that may still have live tokens signed by it stays published in the JWKS
until those tokens have expired, so Envoy keeps accepting them across a rotation.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

__all__ = ["ALGORITHM", "SigningKey", "generate_key", "published"]

ALGORITHM = "ES256"


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    created_at: float
    retired_at: float | None = None

    @property
    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @classmethod
    def from_pem(cls, *, kid: str, pem: bytes, created_at: float, retired_at: float | None) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"signing key {kid} is not an EC key")
        return cls(kid=kid, private_key=key, created_at=created_at, retired_at=retired_at)

    def jwk(self) -> dict[str, Any]:
        """The public half as an RFC 7517 JWK."""
        jwk: dict[str, Any] = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return jwk | {"kid": self.kid, "alg": ALGORITHM, "use": "sig"}


def generate_key(now: float | None = None) -> SigningKey:
    return SigningKey(
        kid=secrets.token_urlsafe(12),
        private_key=ec.generate_private_key(ec.SECP256R1()),
        created_at=time.time() if now is None else now,
    )


def published(keys: list[SigningKey], *, token_ttl: float, now: float) -> list[SigningKey]:
    """The keys a verifier still needs: the active ones and those retired less than one token lifetime ago."""
    return [k for k in keys if k.retired_at is None or now - k.retired_at < token_ttl]
