"""The fuzz run's own parts (tools/fuzz/), without a server: the invalid UTF-8 it sends reaches the wire as
it is, in text parameters only; the lenient description it fuzzes; and the command it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from tools import fuzz
from tools.fuzz.garble import INVALID_UTF8, garble, text_parameters

BASE = "http://127.0.0.1:1"


def _urls(spec: Path, path: str, method: str) -> list[str]:
    """The URLs of 100 cases the fuzzer's strategy (garbling included) makes for the operation."""
    operation = schemathesis.openapi.from_path(str(spec))[path][method]
    urls: list[str] = []

    @settings(max_examples=100, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy().flatmap(garble))
    def collect(case: Any) -> None:
        sent = case.as_transport_kwargs(base_url=BASE)
        # The URL as it goes on the wire, query string included.
        urls.append(requests.Request(method, sent["url"], params=sent.get("params")).prepare().url)

    collect()
    return urls


def _raw_values(url: str) -> list[str]:
    """The last path segment and every query value, percent-encoding left as it is."""
    path, _, query = url.partition("?")
    return [path.rpartition("/")[2], *(pair.partition("=")[2] for pair in query.split("&") if pair)]


def _garbled(urls: list[str]) -> list[str]:
    """The URLs with a value that is exactly one of the garbled byte sequences."""
    return [url for url in urls if any(value in INVALID_UTF8 for value in _raw_values(url))]


def test_invalid_utf8_goes_on_the_wire_as_it_is_in_a_path(tmp_path: Path) -> None:
    urls = _urls(fuzz.write_spec(tmp_path), "/v1/users/{username}", "GET")
    garbled = _garbled(urls)
    assert 5 <= len(garbled) <= 50, garbled  # about one in five
    assert all(url.removeprefix(f"{BASE}/v1/users/") in INVALID_UTF8 for url in garbled), garbled


def test_invalid_utf8_goes_on_the_wire_as_it_is_in_a_query(tmp_path: Path) -> None:
    spec = fuzz.write_spec(tmp_path)
    garbled = _garbled(_urls(spec, "/v1/bookmarks", "GET"))
    assert garbled, "no case had a garbled page_token"
    assert all(any(f"page_token={raw}" in url for raw in INVALID_UTF8) for url in garbled), garbled


def test_only_text_parameters_are_garbled(tmp_path: Path) -> None:
    spec = fuzz.write_spec(tmp_path)
    texts = text_parameters(spec)
    assert texts[("GET", "/v1/users/{username}")] == (("path", "username"),)
    assert texts[("GET", "/v1/tweets/{tweet_id}")] == ()  # an int64: the transcoder itself refuses bytes there
    assert ("query", "q") in texts[("GET", "/v1/search/tweets")]
    assert ("query", "page_size") not in texts[("GET", "/v1/search/tweets")]
    assert not _garbled(_urls(spec, "/v1/tweets/{tweet_id}", "GET"))


def test_the_command_checks_everything_it_says(tmp_path: Path) -> None:
    argv = fuzz.command(BASE, tmp_path / "spec.json", budget=fuzz.Budget(cases=7, seed=3), report_dir=tmp_path)
    assert argv[argv.index("--checks") + 1].split(",") == list(fuzz.CHECKS)
    assert argv[argv.index("--max-examples") + 1] == "7"
    assert argv[argv.index("--url") + 1] == BASE
    assert fuzz.environment(tmp_path / "spec.json")["SCHEMATHESIS_HOOKS"] == "tools.fuzz.hooks"
    assert "include-tag = \"MediaService\"" in fuzz.CONFIG_PATH.read_text()
