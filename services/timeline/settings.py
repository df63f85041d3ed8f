"""The timeline service's own configuration, on top of the kit's."""

from __future__ import annotations

from pydantic import Field

from services.kit.config import KitSettings

__all__ = ["TimelineSettings"]


class TimelineSettings(KitSettings):
    # A timeline nobody reads for this long is dropped: its owner is inactive (no pushes) until they return,
    # when it is rebuilt. 30 days, the classification service's INACTIVE horizon.
    timeline_idle_ttl: float = Field(default=30 * 86400.0, gt=0, description="seconds a timeline lives unread")
