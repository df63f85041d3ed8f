"""The search service's configuration: where the Typesense key comes from, and bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.kit.config import StartupError, settings_problems
from services.search.settings import SearchSettings


@pytest.fixture(autouse=True)
def _no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHIRP_TYPESENSE_API_KEY", raising=False)


def test_the_api_key_comes_from_the_environment_first(tmp_path: Path) -> None:
    (tmp_path / "typesense.key").write_text("from-file\n")
    assert SearchSettings(typesense_api_key="from-env", data_dir=tmp_path).api_key() == "from-env"


def test_without_it_the_local_stacks_key_file_is_used(tmp_path: Path) -> None:
    (tmp_path / "typesense.key").write_text("from-file\n")
    assert SearchSettings(data_dir=tmp_path).api_key() == "from-file"


def test_without_either_the_start_stops_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="CHIRP_TYPESENSE_API_KEY"):
        SearchSettings(data_dir=tmp_path).api_key()


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"typesense_url": "127.0.0.1:8108"}, "CHIRP_TYPESENSE_URL"),
        ({"typesense_timeout": 0}, "CHIRP_TYPESENSE_TIMEOUT"),
        ({"search_collection_prefix": "a-b"}, "CHIRP_SEARCH_COLLECTION_PREFIX"),
    ],
)
def test_bad_values_are_named(values: dict[str, object], variable: str) -> None:
    with pytest.raises(ValidationError) as raised:
        SearchSettings(**values)  # type: ignore[arg-type]
    assert [line.split(":")[0] for line in settings_problems(raised.value)] == [variable]
