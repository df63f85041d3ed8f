"""The classification service's configuration: documented defaults, the variables that set them, refusals."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.classification.rules import DAY, Rules
from services.classification.settings import ClassificationSettings

_VARIABLES = (
    "CHIRP_FAMOUS_FOLLOWERS",
    "CHIRP_CLASSIFICATION_ACTIVE_WINDOW",
    "CHIRP_CLASSIFICATION_PASSIVE_WINDOW",
    "CHIRP_CLASSIFICATION_SWEEP_INTERVAL",
)


def test_the_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    settings = ClassificationSettings()
    # classification.proto: 10,000 followers, 7 days, 30 days.
    assert settings.rules() == Rules(famous_followers=10_000, active_window=7 * DAY, passive_window=30 * DAY)
    assert settings.rules() == Rules()
    assert settings.classification_sweep_interval == 1


def test_the_variables_set_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIRP_FAMOUS_FOLLOWERS", "3")
    monkeypatch.setenv("CHIRP_CLASSIFICATION_ACTIVE_WINDOW", "2.5")
    monkeypatch.setenv("CHIRP_CLASSIFICATION_PASSIVE_WINDOW", "4")
    assert ClassificationSettings().rules() == Rules(famous_followers=3, active_window=2.5, passive_window=4)


@pytest.mark.parametrize(
    "values",
    [
        {"famous_followers": 0},
        {"classification_active_window": 0},
        {"classification_active_window": 10, "classification_passive_window": 5},
        {"classification_sweep_interval": 0},
    ],
)
def test_bad_values_are_refused(values: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        ClassificationSettings(**values)  # type: ignore[arg-type]
