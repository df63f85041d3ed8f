"""The trends service's settings (CHIRP_TRENDS_*), on top of the kit's; the constants of scoring's formulas."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from services.kit.config import KitSettings
from services.trends.scoring import Params

__all__ = ["TrendsSettings"]


class TrendsSettings(KitSettings):
    # Counts are kept per bucket; the window is the last `window` seconds of buckets, the current one included.
    trends_bucket_seconds: int = Field(default=60, ge=1)
    trends_window_seconds: int = Field(default=3600, ge=1)
    # How fast a use loses weight within the window, and how long a baseline remembers.
    trends_half_life_seconds: float = Field(default=900.0, gt=0)
    trends_baseline_half_life_seconds: float = Field(default=86400.0, gt=0)
    # How much zero history a baseline starts with, so a few minutes of use do not yet make a tag "usual".
    trends_baseline_prior_seconds: float = Field(default=1800.0, ge=0)
    # K in the score's denominator: a new tag used by n authors scores about n / sqrt(K).
    trends_smoothing: float = Field(default=1.0, gt=0)
    # c: how much a big tag's activity swings as a share of its size; a tag must rise several times this.
    trends_noise: float = Field(default=0.25, ge=0)
    # Fewer distinct authors in the window than this, and a tag does not trend.
    trends_min_authors: int = Field(default=3, ge=1)
    # A lower score than this, and a tag does not trend.
    trends_min_score: float = Field(default=1.0, ge=0)
    # How often the trends are recomputed.
    trends_refresh_seconds: float = Field(default=5.0, gt=0)

    @field_validator("trends_window_seconds")
    @classmethod
    def _window_holds_a_bucket(cls, value: int, info: ValidationInfo) -> int:
        bucket = info.data.get("trends_bucket_seconds")
        if bucket is not None and value < bucket:
            raise ValueError(f"must be at least CHIRP_TRENDS_BUCKET_SECONDS ({bucket})")
        return value

    def params(self) -> Params:
        return Params(
            bucket_seconds=self.trends_bucket_seconds,
            window_seconds=self.trends_window_seconds,
            half_life_seconds=self.trends_half_life_seconds,
            baseline_half_life_seconds=self.trends_baseline_half_life_seconds,
            baseline_prior_seconds=self.trends_baseline_prior_seconds,
            smoothing=self.trends_smoothing,
            noise=self.trends_noise,
            min_authors=self.trends_min_authors,
            min_score=self.trends_min_score,
        )
