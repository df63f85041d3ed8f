"""The classification service's settings (CHIRP_FAMOUS_FOLLOWERS, CHIRP_CLASSIFICATION_*), on top of the kit's."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from services.classification.rules import DAY, Rules
from services.kit.config import KitSettings

__all__ = ["ClassificationSettings"]


class ClassificationSettings(KitSettings):
    # The thresholds of rules.py; classification.proto documents the defaults: change both together. Windows
    # are seconds, so tests can run the classes through in moments.
    famous_followers: int = Field(default=10_000, ge=1)
    classification_active_window: float = Field(default=7 * DAY, gt=0)
    classification_passive_window: float = Field(default=30 * DAY, gt=0)
    # How often the sweeper announces the changes time makes (ACTIVE → PASSIVE → INACTIVE): the most such an
    # event is late. Answers are never late: they apply the rules at the moment they are given.
    classification_sweep_interval: float = Field(default=1.0, gt=0)

    @field_validator("classification_passive_window")
    @classmethod
    def _passive_covers_active(cls, value: float, info: ValidationInfo) -> float:
        active = info.data.get("classification_active_window")
        if active is not None and value < active:
            raise ValueError(f"must not be shorter than CHIRP_CLASSIFICATION_ACTIVE_WINDOW ({active:g})")
        return value

    def rules(self) -> Rules:
        return Rules(
            famous_followers=self.famous_followers,
            active_window=self.classification_active_window,
            passive_window=self.classification_passive_window,
        )
