"""The fan-out worker's own configuration, on top of the kit's."""

from __future__ import annotations

from pydantic import Field

from services.kit.config import KitSettings

__all__ = ["FanoutSettings"]


class FanoutSettings(KitSettings):
    # Authors with at least this many followers are FAMOUS: their tweets are pulled at read time, not pushed.
    # Used while the classification service does not answer; it reads the same variable.
    famous_followers: int = Field(default=10_000, ge=1, description="followers that make an account famous")
    # Tweets fanned out at once. Each is independent; several in flight keep one 100k-follower delivery from
    # holding up everyone else's, and the bound is the backpressure: no more is taken from JetStream.
    fanout_concurrency: int = Field(default=8, ge=1, le=256, description="tweets delivered concurrently")
