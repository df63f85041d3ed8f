"""The search service's own configuration, on top of the kit's: where Typesense is and how to name its data."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from services.kit.config import KitSettings, StartupError

__all__ = ["SearchSettings"]


class SearchSettings(KitSettings):
    typesense_url: str = Field(default="http://127.0.0.1:8108", description="Typesense's REST API")
    typesense_api_key: str = Field(default="", description="Typesense's admin API key; see api_key()")
    typesense_timeout: float = Field(default=5.0, gt=0, description="seconds one Typesense request may take")
    search_collection_prefix: str = Field(
        default="chirp_", description="prefix of the collection names, so one Typesense can serve several stacks"
    )

    @field_validator("typesense_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/]+", value):
            raise ValueError("expected http://host:port or https://host:port")
        return value.rstrip("/")

    @field_validator("search_collection_prefix")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_]*", value):
            raise ValueError("expected letters, digits and underscores")
        return value

    def api_key(self) -> str:
        """CHIRP_TYPESENSE_API_KEY, or else the key the local stack keeps in `<data_dir>/typesense.key`, so the
        service and the backfill run on their own beside `make up` without copying it. Raises StartupError."""
        if self.typesense_api_key:
            return self.typesense_api_key
        path = self.data_dir / "typesense.key"
        try:
            key = path.read_text().strip()
        except OSError:
            key = ""
        if not key:
            raise StartupError(f"CHIRP_TYPESENSE_API_KEY: not set, and no key in {path} (the local stack writes one)")
        return key
