"""The presence service's settings (CHIRP_PRESENCE_*), on top of the kit's."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from services.kit.config import KitSettings

__all__ = ["PresenceSettings"]


class PresenceSettings(KitSettings):
    # A user without a heartbeat for this long is OFFLINE. Clients beat every 30 s, so the default forgives
    # one lost beat. presence.proto documents the default: change both together.
    presence_ttl: float = Field(default=60.0, gt=0)
    # How often the sweeper looks for users whose TTL lapsed: the most an IDLE or OFFLINE change made by time
    # is announced late.
    presence_sweep_interval: float = Field(default=1.0, gt=0)
    # How long the time of a user's latest heartbeat (`last_seen_at`) is kept after it.
    presence_last_seen_retention: float = Field(default=90 * 24 * 3600.0, gt=0)

    @field_validator("presence_last_seen_retention")
    @classmethod
    def _outlasts_ttl(cls, value: float, info: ValidationInfo) -> float:
        # The bookkeeping of a present user (its announced state) must not expire while they are present.
        ttl = info.data.get("presence_ttl")
        if ttl is not None and value <= ttl:
            raise ValueError(f"must be longer than CHIRP_PRESENCE_TTL ({ttl:g})")
        return value
