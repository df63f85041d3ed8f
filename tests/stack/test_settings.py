"""Configuration of the stack: CHIRP_* parsing, port planning, and messages that name what to fix."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from services.kit import registry
from stack import ConfigError, Settings, Stack, ports
from stack.settings import INFRA


def test_defaults_are_make_ups() -> None:
    settings = Settings.from_env({})
    assert settings.data_dir == Path(".chirp")
    assert settings.services is None and settings.infra == frozenset(INFRA) and settings.envoy
    planned = ports.planned(registry.entries())
    assert (planned.http, planned.mesh, planned.nats, planned.valkey, planned.typesense) == (
        8080,
        10000,
        4222,
        6379,
        8108,
    )
    assert planned.grpc["auth"] == registry.entry("auth").port
    assert planned.metrics["auth"] == ports.METRICS_BASE == 9464
    assert planned.metrics["user"] == 9465


def test_variables_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "CHIRP_DATA_DIR": "/tmp/x",
            "CHIRP_HTTP_PORT": "8081",
            "CHIRP_TWEET_PORT": "60054",
            "CHIRP_PORT_OFFSET": "100",
            "CHIRP_SERVICES": "auth, tweet",
            "CHIRP_INFRA": "nats,valkey",
            "CHIRP_ENVOY": "off",
            "CHIRP_LOG_LEVEL": "debug",
            "CHIRP_RATE_LIMIT_PER_SECOND": "0",
            "CHIRP_RATE_LIMIT_ADDRESS_PER_SECOND": "2",
            "CHIRP_RATE_LIMIT_ADDRESS_BURST": "3",
            "CHIRP_RATE_LIMIT_CLIENTS": "500",
            "CHIRP_JWT_CLOCK_SKEW": "4",
        }
    )
    assert settings.data_dir == Path("/tmp/x")
    assert settings.services == ("auth", "tweet")
    assert settings.infra == frozenset({"nats", "valkey"})
    assert not settings.envoy and settings.log_level == "DEBUG" and settings.rate_limit_per_second == 0
    assert (settings.rate_limit_address_per_second, settings.rate_limit_address_burst) == (2, 3)
    assert (settings.rate_limit_clients, settings.jwt_clock_skew) == (500, 4)
    planned = ports.planned(registry.entries(), offset=settings.port_offset, overrides=settings.port_overrides)
    assert planned.http == 8081  # an override wins over the offset
    assert planned.mesh == 10100
    assert planned.grpc["tweet"] == 60054
    assert Settings.from_env({"CHIRP_SERVICES": "none"}).services == ()
    assert Settings.from_env({"CHIRP_SERVICES": "all"}).services is None


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("CHIRP_HTTP_PORT", "eighty", "expected an integer"),
        ("CHIRP_NATS_PORT", "70000", "expected 1-65535"),
        ("CHIRP_SERVICES", "auth,twitter", "unknown services ['twitter']"),
        ("CHIRP_INFRA", "nats,kafka", "unknown servers ['kafka']"),
        ("CHIRP_LOG_LEVEL", "loud", "expected one of"),
        ("CHIRP_FREE_PORTS", "maybe", "expected one of 1/0"),
        ("CHIRP_STARTUP_TIMEOUT", "-1", "positive"),
        # 0 would be Envoy's default skew of 60 s.
        ("CHIRP_JWT_CLOCK_SKEW", "0", "expected 1-300"),
        ("CHIRP_RATE_LIMIT_CLIENTS", "0", "expected 1-10000000"),
    ],
)
def test_a_bad_variable_is_named_in_the_error(variable: str, value: str, complaint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    assert f"{variable}={value!r}" in str(caught.value)
    assert complaint in str(caught.value)


def test_every_bad_variable_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"CHIRP_HTTP_PORT": "x", "CHIRP_ENVOY_CONCURRENCY": "0"})
    assert "CHIRP_HTTP_PORT" in str(caught.value) and "CHIRP_ENVOY_CONCURRENCY" in str(caught.value)


def test_settings_built_in_code_are_checked_too() -> None:
    with pytest.raises(ConfigError, match="services: no registry entry 'nope'"):
        Settings(services=("nope",))
    with pytest.raises(ConfigError, match="rate_limit_burst"):
        Settings(rate_limit_per_second=10, rate_limit_burst=5)
    with pytest.raises(ConfigError, match="rate_limit_address_burst: must be at least"):
        Settings(rate_limit_address_per_second=10, rate_limit_address_burst=5)
    # The address burst defaults to the per-user one, which is below this rate.
    with pytest.raises(ConfigError, match="rate_limit_address_burst: must be at least"):
        Settings(rate_limit_burst=40, rate_limit_address_per_second=50)
    with pytest.raises(ConfigError, match="jwt_clock_skew: must be positive"):
        Settings(jwt_clock_skew=0)


def test_two_ports_on_one_number_are_refused_naming_both_variables() -> None:
    with pytest.raises(ConfigError, match="CHIRP_MESH_PORT and CHIRP_HTTP_PORT are both 9000"):
        Stack(Settings(port_overrides={"http": 9000, "mesh": 9000}))


def test_free_ports_are_distinct_and_free() -> None:
    chosen = ports.free(registry.entries())
    numbers = [port for _, port in chosen.labelled()]
    assert len(numbers) == len(set(numbers)) == len(ports.INFRA_DEFAULTS) + 2 * len(registry.entries())
    assert ports.busy(chosen.labelled()) == []


def test_a_port_in_use_is_reported_with_its_variable(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        stack = Stack(Settings(data_dir=tmp_path, port_overrides={"valkey": taken}, services=()))
        with pytest.raises(ConfigError, match=f"{taken} \\(CHIRP_VALKEY_PORT\\)"):
            stack.__enter__()
    assert not stack.processes  # nothing was started


def test_processes_per_service_default_from_the_registry_and_are_overridden_by_variables() -> None:
    cores = registry.entry("timeline").default_processes()
    assert cores >= 1
    counts = Settings.from_env({"CHIRP_TWEET_PROCESSES": "3"}).process_counts()
    assert counts["tweet"] == 3 and counts["timeline"] == cores and counts["notification"] == 1
    with pytest.raises(ConfigError, match="CHIRP_TWEET_PROCESSES='lots': expected an integer"):
        Settings.from_env({"CHIRP_TWEET_PROCESSES": "lots"})


def test_a_service_that_must_run_alone_refuses_more_processes_saying_why() -> None:
    with pytest.raises(ConfigError, match=r"CHIRP_NOTIFICATION_PROCESSES.*live notification stream is held"):
        Settings.from_env({"CHIRP_NOTIFICATION_PROCESSES": "2"})


def test_each_process_of_a_service_has_its_own_ports_100_apart() -> None:
    planned = ports.planned(registry.entries(), counts={"tweet": 3}, overrides={"tweet": 60054})
    assert planned.of("tweet") == (60054, 60154, 60254)
    assert planned.grpc["tweet-2"] == 60154 and planned.metrics["tweet-3"] == planned.metrics["tweet"] + 200
    assert ports.env_var("tweet-2") == "CHIRP_TWEET_PORT + 100"
    chosen = ports.free(registry.entries(), counts={"tweet": 2, "user": 2})
    assert len(chosen.of("tweet")) == 2 and len(set(chosen.of("tweet") + chosen.of("user"))) == 4
