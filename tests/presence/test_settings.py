"""The presence service's configuration: the defaults the contract documents, and refused values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.presence.settings import PresenceSettings


def test_the_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHIRP_PRESENCE_TTL", "CHIRP_PRESENCE_SWEEP_INTERVAL", "CHIRP_PRESENCE_LAST_SEEN_RETENTION"):
        monkeypatch.delenv(name, raising=False)
    settings = PresenceSettings()
    assert settings.presence_ttl == 60  # presence.proto: "60 seconds by default"
    assert settings.presence_sweep_interval == 1
    assert settings.presence_last_seen_retention == 90 * 24 * 3600


def test_variables_set_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIRP_PRESENCE_TTL", "1.5")
    monkeypatch.setenv("CHIRP_PRESENCE_SWEEP_INTERVAL", "0.1")
    settings = PresenceSettings()
    assert (settings.presence_ttl, settings.presence_sweep_interval) == (1.5, 0.1)


@pytest.mark.parametrize(
    "values",
    [
        {"presence_ttl": 0},
        {"presence_ttl": -1},
        {"presence_sweep_interval": 0},
        {"presence_ttl": 100, "presence_last_seen_retention": 100},
    ],
)
def test_bad_values_are_refused(values: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        PresenceSettings(**values)  # type: ignore[arg-type]
