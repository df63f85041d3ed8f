"""The notification service's settings (CHIRP_NOTIFICATION_*, CHIRP_SMTP_*), on top of the kit's.

Durations are in seconds. Digests are off until `CHIRP_SMTP_HOST` names a mail server: a laptop running
`make up` has none, and a digest that can never be delivered would only fill the log with retries.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from services.kit.config import KitSettings

__all__ = ["NotificationSettings"]


class NotificationSettings(KitSettings):
    # A like, retweet, follow or follow request folds into an unread notification of the same kind (and tweet)
    # made less than this long ago (the contract says 24 hours).
    notification_group_window: float = Field(default=24 * 3600.0, gt=0)
    # A live stream with nothing to say repeats the unread count this often, so that proxies and clients see
    # it alive (the contract says 30 seconds; the edge drops a stream idle for 300).
    notification_stream_keepalive: float = Field(default=30.0, gt=0)
    notification_max_streams: int = Field(default=5, ge=1, le=100)

    # Email digests: a user with unread notifications who has been away this long (no open stream, presence
    # offline, last seen this long ago) gets one email listing them, at most once per period.
    notification_digest_after: float = Field(default=3600.0, gt=0)
    notification_digest_period: float = Field(default=24 * 3600.0, gt=0)
    # How often the digest scheduler looks for users who are due.
    notification_digest_interval: float = Field(default=60.0, gt=0)
    notification_digest_max_items: int = Field(default=20, ge=1, le=100)

    # The mail server digests go through; empty turns digests off.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    # "none": plain SMTP (a local relay); "starttls": upgrade after connecting (port 587); "tls": TLS from
    # the first byte (port 465).
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_from: str = "Chirp <notifications@chirp.invalid>"
    smtp_timeout: float = Field(default=10.0, gt=0)

    @field_validator("smtp_security", mode="before")
    @classmethod
    def _lower_security(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("smtp_from")
    @classmethod
    def _has_address(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("expected an email address, e.g. 'Chirp <notifications@example.com>'")
        return value

    @property
    def digests_enabled(self) -> bool:
        return bool(self.smtp_host.strip())
