"""The auth service's settings (CHIRP_AUTH_*), on top of the kit's."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from services.kit.config import KitSettings

__all__ = ["AuthSettings"]


class AuthSettings(KitSettings):
    # Access tokens are verified by Envoy without a call back to us, so they are short-lived.
    auth_access_token_ttl: int = Field(default=900, ge=1)
    auth_refresh_token_ttl: int = Field(default=30 * 24 * 3600, ge=1)
    # A new signing key every week; the old one stays published until its last token expires.
    auth_key_rotation: int = Field(default=7 * 24 * 3600, ge=1)
    # The next key is published this long before it signs anything: Envoy caches the JWKS for 60 s, and a
    # token signed by a key it has not fetched yet would be refused.
    auth_key_publish_ahead: int = Field(default=300, ge=0)
    # How often the running service reloads its keys and rotates them when due.
    auth_key_check_interval: float = Field(default=30.0, gt=0)
    # argon2id cost (RFC 9106 second recommended option is t=3, m=64 MiB).
    auth_argon2_time_cost: int = Field(default=3, ge=1)
    auth_argon2_memory_kib: int = Field(default=65536, ge=8)
    # Log-in throttling: failures allowed per account and per client address before a lock, the first lock
    # (doubling with each further failure up to the longest), and how long a failure is remembered.
    auth_login_max_failures_per_account: int = Field(default=5, ge=1)
    auth_login_max_failures_per_address: int = Field(default=30, ge=1)
    auth_login_first_lock: float = Field(default=30.0, gt=0)
    auth_login_longest_lock: float = Field(default=900.0, gt=0)
    auth_login_failure_memory: float = Field(default=3600.0, gt=0)

    # Cross-field checks as field validators (each sees the fields declared above it), so a bad value is
    # reported under its own variable's name.
    @field_validator("auth_key_publish_ahead")
    @classmethod
    def _ahead_of_rotation(cls, value: int, info: ValidationInfo) -> int:
        rotation = info.data.get("auth_key_rotation")
        if rotation is not None and value >= rotation:
            raise ValueError(f"must be shorter than CHIRP_AUTH_KEY_ROTATION ({rotation})")
        return value

    @field_validator("auth_login_longest_lock")
    @classmethod
    def _longest_after_first(cls, value: float, info: ValidationInfo) -> float:
        first = info.data.get("auth_login_first_lock")
        if first is not None and value < first:
            raise ValueError(f"must not be shorter than CHIRP_AUTH_LOGIN_FIRST_LOCK ({first:g})")
        return value

    @field_validator("auth_login_failure_memory")
    @classmethod
    def _memory_outlasts_locks(cls, value: float, info: ValidationInfo) -> float:
        # Otherwise a locked counter could be forgotten before its lock ends, and start afresh.
        longest = info.data.get("auth_login_longest_lock")
        if longest is not None and value <= longest:
            raise ValueError(f"must be longer than CHIRP_AUTH_LOGIN_LONGEST_LOCK ({longest:g})")
        return value
