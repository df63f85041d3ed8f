"""Settings from CHIRP_* variables: defaults, registry defaults, and errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.kit import registry
from services.kit.config import KitSettings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("CHIRP_"):
            monkeypatch.delenv(name)


def _problems(capsys: pytest.CaptureFixture[str], cls: type[KitSettings] = KitSettings) -> list[str]:
    with pytest.raises(SystemExit) as info:
        load_settings(cls, "tweet")
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "pydantic" not in err
    return [line.strip() for line in err.splitlines()[1:]]


def test_defaults_come_from_the_registry() -> None:
    settings = load_settings(KitSettings, "tweet")
    names = [e.name for e in registry.entries()]
    assert settings.grpc_port == registry.entry("tweet").port
    assert settings.worker_id == names.index("tweet")
    assert (settings.grpc_host, settings.mesh_addr) == ("127.0.0.1", "127.0.0.1:10000")
    assert settings.nats_url == "nats://127.0.0.1:4222"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert (settings.data_dir, settings.metrics_port, settings.shutdown_grace) == (Path(".chirp"), 0, 5.0)
    assert (settings.log_level, settings.log_format) == ("INFO", "json")


def test_environment_overrides_registry_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIRP_GRPC_PORT", "0")
    monkeypatch.setenv("CHIRP_WORKER_ID", "1023")
    monkeypatch.setenv("CHIRP_LOG_LEVEL", "debug")
    monkeypatch.setenv("CHIRP_DATA_DIR", "/tmp/x")
    settings = load_settings(KitSettings, "tweet")
    assert (settings.grpc_port, settings.worker_id, settings.log_level) == (0, 1023, "DEBUG")
    assert settings.data_dir == Path("/tmp/x")


def test_each_bad_variable_is_named_on_its_own_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHIRP_GRPC_PORT", "abc")
    monkeypatch.setenv("CHIRP_METRICS_PORT", "70000")
    monkeypatch.setenv("CHIRP_WORKER_ID", "1024")
    monkeypatch.setenv("CHIRP_SHUTDOWN_GRACE", "soon")
    monkeypatch.setenv("CHIRP_LOG_FORMAT", "xml")
    monkeypatch.setenv("CHIRP_MESH_ADDR", "envoy")
    monkeypatch.setenv("CHIRP_NATS_URL", "http://x")
    assert sorted(_problems(capsys)) == sorted([
        "CHIRP_GRPC_PORT: expected an integer, got 'abc'",
        "CHIRP_METRICS_PORT: must be at most 65535, got '70000'",
        "CHIRP_WORKER_ID: must be at most 1023, got '1024'",
        "CHIRP_SHUTDOWN_GRACE: expected a number, got 'soon'",
        "CHIRP_LOG_FORMAT: expected 'json' or 'text', got 'xml'",
        "CHIRP_MESH_ADDR: expected host:port, got 'envoy'",
        "CHIRP_NATS_URL: expected nats://host:port (comma-separated for several servers), got 'http://x'",
    ])  # fmt: skip


class _WithRequired(KitSettings):
    signing_secret: str
    tags: tuple[str, ...] = ()
    strict: bool = False


def test_service_fields_share_the_prefix_and_the_messages(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHIRP_STRICT", "maybe")
    assert sorted(_problems(capsys, _WithRequired)) == [
        "CHIRP_SIGNING_SECRET: required but not set",
        "CHIRP_STRICT: expected true or false, got 'maybe'",
    ]
    monkeypatch.setenv("CHIRP_STRICT", "yes")
    monkeypatch.setenv("CHIRP_SIGNING_SECRET", "s")
    monkeypatch.setenv("CHIRP_TAGS", "[not json")
    assert _problems(capsys, _WithRequired)[0].startswith("CHIRP_TAGS: expected JSON")
    monkeypatch.setenv("CHIRP_TAGS", '["a"]')
    settings = load_settings(_WithRequired, "tweet")
    assert (settings.signing_secret, settings.tags, settings.strict) == ("s", ("a",), True)


def test_event_retry_schedules_are_seconds_separated_by_commas(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = load_settings(KitSettings, "tweet").retry_policy()
    assert (policy.max_deliver, policy.backoff, policy.outage_backoff) == (
        5, (1.0, 5.0, 30.0, 120.0), (1.0, 2.0, 4.0, 8.0, 15.0, 30.0),
    )  # fmt: skip
    monkeypatch.setenv("CHIRP_EVENT_MAX_DELIVER", "2")
    monkeypatch.setenv("CHIRP_EVENT_RETRY_BACKOFF", "0.05, 0.1")
    monkeypatch.setenv("CHIRP_EVENT_OUTAGE_BACKOFF", "0.2")
    policy = load_settings(KitSettings, "tweet").retry_policy()
    assert (policy.max_deliver, policy.backoff, policy.outage_backoff) == (2, (0.05, 0.1), (0.2,))
    assert (policy.after_failure(1), policy.after_failure(2)) == (0.05, None), "the second failure is the last"
    assert [policy.during_outage(n) for n in (1, 2, 50)] == [0.2, 0.2, 0.2], "the last delay repeats"

    monkeypatch.setenv("CHIRP_EVENT_MAX_DELIVER", "0")
    monkeypatch.setenv("CHIRP_EVENT_RETRY_BACKOFF", "1,soon")
    monkeypatch.setenv("CHIRP_EVENT_OUTAGE_BACKOFF", "0,1")
    assert sorted(_problems(capsys)) == [
        "CHIRP_EVENT_MAX_DELIVER: must be at least 1, got '0'",
        "CHIRP_EVENT_OUTAGE_BACKOFF: every delay must be more than 0 and at most 86400 seconds, got '0,1'",
        "CHIRP_EVENT_RETRY_BACKOFF: expected comma-separated seconds, e.g. 1,5,30, got '1,soon'",
    ]
