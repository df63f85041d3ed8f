"""The auth service's settings (CHIRP_AUTH_*), on top of the kit's."""

from __future__ import annotations

from services.kit.config import KitSettings

__all__ = ["AuthSettings"]


class AuthSettings(KitSettings):
    # Access tokens are verified by Envoy without a call back to us, so they are short-lived.
    auth_access_token_ttl: int = 900
    auth_refresh_token_ttl: int = 30 * 24 * 3600
    # A new signing key every week; the old one stays published until its last token expires.
    auth_key_rotation: int = 7 * 24 * 3600
    # argon2id cost (RFC 9106 second recommended option is t=3, m=64 MiB).
    auth_argon2_time_cost: int = 3
    auth_argon2_memory_kib: int = 65536
