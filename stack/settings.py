"""Configuration of the local stack: a frozen `Settings`, built from CHIRP_* variables by `from_env`.

Every value is checked once, up front; a bad one stops the stack with a message naming the variable (or, for
settings built in code, the field), never halfway through starting servers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from services.kit import registry

from . import ports
from .restarts import RestartPolicy

__all__ = ["INFRA", "LOG_LEVELS", "REPO_ROOT", "ConfigError", "Settings"]

REPO_ROOT = Path(__file__).resolve().parent.parent
INFRA = ("nats", "valkey", "typesense")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

T = TypeVar("T")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable or field."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """What to run and where. The defaults are `make up`'s."""

    # Everything the stack writes: server data, logs, generated configs. Survives restarts.
    data_dir: Path = Path(".chirp")
    # Pick a free ephemeral port for everything (tests); otherwise defaults + offset + overrides.
    free_ports: bool = False
    port_offset: int = 0
    # By port key (see stack.ports): {"http": 8081, "tweet": 60054, "tweet_metrics": 61054}.
    port_overrides: Mapping[str, int] = field(default_factory=dict)
    # Which infrastructure servers to run; any subset of INFRA.
    infra: frozenset[str] = frozenset(INFRA)
    # Run the Envoy edge and mesh.
    envoy: bool = True
    # Registry entries to run. None: every entry whose module is present (missing ones are skipped with a
    # warning, so the stack runs while services are still being written); an explicit name must be present.
    services: tuple[str, ...] | None = None
    # Run another module for a registry entry (tests put a fake service in a real entry's place).
    modules: Mapping[str, str] = field(default_factory=dict)
    # The FileDescriptorSet for the transcoder; a placeholder is used while it has not been generated.
    descriptor: Path = REPO_ROOT / "gen" / "descriptor.binpb"
    log_level: str = "INFO"
    # Edge rate limits (stack.envoy_config says how they work): each signed-in user's token bucket, as sustained
    # requests per second and burst; 0 per second turns that limit off.
    rate_limit_per_second: int = 200
    rate_limit_burst: int = 400
    # Each client address's bucket, for requests without a token; None: the per-user values.
    rate_limit_address_per_second: int | None = None
    rate_limit_address_burst: int | None = None
    # How many users' and addresses' buckets the edge keeps; a client forgotten beyond it starts afresh.
    rate_limit_clients: int = 10000
    # Seconds an access token is still accepted after it expires, for clocks that disagree.
    jwt_clock_skew: int = 2
    max_request_bytes: int = 8 * 1024 * 1024
    envoy_concurrency: int = 1
    startup_timeout: float = 60.0
    stop_timeout: float = 10.0
    # Extra environment for every service process, on top of the CHIRP_* the stack sets.
    service_env: Mapping[str, str] = field(default_factory=dict)
    # Processes per registry entry, overriding the registry's `processes` (CHIRP_<NAME>_PROCESSES).
    processes: Mapping[str, int] = field(default_factory=dict)
    # Start a process that exits by itself again (stack.restarts); off, an exit is only logged.
    restart: bool = True
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)

    def __post_init__(self) -> None:
        # Accept plain strings for paths (frozen: assign through object).
        for name in ("data_dir", "descriptor"):
            object.__setattr__(self, name, Path(getattr(self, name)))
        object.__setattr__(self, "infra", frozenset(self.infra))
        names = {e.name for e in registry.entries()}
        problems = []
        if self.services is not None:
            problems += [f"services: no registry entry {n!r}" for n in self.services if n not in names]
        problems += [f"modules: no registry entry {n!r}" for n in self.modules if n not in names]
        for name, count in self.processes.items():
            if name not in names:
                problems.append(f"processes: no registry entry {name!r}")
            elif not 1 <= count <= registry.MAX_PROCESSES:
                problems.append(f"processes: {name}: expected 1-{registry.MAX_PROCESSES}, got {count}")
            elif count > 1 and registry.entry(name).alone:
                problems.append(
                    f"processes: {name} (CHIRP_{name.upper()}_PROCESSES) must run as one process: "
                    f"{registry.entry(name).alone}"
                )
        problems += [f"infra: unknown server {n!r} (known: {', '.join(INFRA)})" for n in self.infra - set(INFRA)]
        if self.log_level not in LOG_LEVELS:
            problems.append(f"log_level: {self.log_level!r} is not one of {', '.join(LOG_LEVELS)}")
        limits = ("rate_limit_per_second", "rate_limit_burst", "rate_limit_address_per_second")
        for name in ("port_offset", *limits, "rate_limit_address_burst"):
            value = getattr(self, name)
            if value is not None and value < 0:
                problems.append(f"{name}: must not be negative")
        # A clock skew of 0 would be Envoy's default of 60 s (its config cannot tell 0 from unset).
        positive = ("max_request_bytes", "envoy_concurrency", "startup_timeout", "stop_timeout", "rate_limit_clients")
        for name in (*positive, "jwt_clock_skew"):
            if getattr(self, name) <= 0:
                problems.append(f"{name}: must be positive")
        if self.rate_limit_per_second and self.rate_limit_burst < self.rate_limit_per_second:
            problems.append("rate_limit_burst: must be at least rate_limit_per_second")
        # The per-address values default to the per-user ones.
        per_second, burst = self.rate_limit_address_per_second, self.rate_limit_address_burst
        if (per_second, burst) != (None, None):
            per_second = self.rate_limit_per_second if per_second is None else per_second
            burst = self.rate_limit_burst if burst is None else burst
            if per_second and burst < per_second:
                problems.append("rate_limit_address_burst: must be at least rate_limit_address_per_second")
        if problems:
            raise ConfigError("; ".join(problems))

    def process_counts(self) -> dict[str, int]:
        """How many processes each registry entry runs: the override, else the registry's default."""
        return {e.name: self.processes.get(e.name, e.default_processes()) for e in registry.entries()}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from CHIRP_* variables (default: os.environ), then `overrides` by field name.

        Raises ConfigError listing every bad variable.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []

        def read(var: str, parse: Callable[[str], T], name: str, into: dict[str, Any] = values) -> None:
            raw = env.get(var, "").strip()
            if raw:
                try:
                    into[name] = parse(raw)
                except ValueError as exc:
                    problems.append(f"{var}={raw!r}: {exc}")

        read("CHIRP_DATA_DIR", Path, "data_dir")
        read("CHIRP_FREE_PORTS", _flag, "free_ports")
        read("CHIRP_PORT_OFFSET", _int(0, 60000), "port_offset")
        read("CHIRP_SERVICES", _service_list, "services")
        read("CHIRP_INFRA", _infra_list, "infra")
        read("CHIRP_ENVOY", _flag, "envoy")
        read("CHIRP_DESCRIPTOR", Path, "descriptor")
        read("CHIRP_LOG_LEVEL", _log_level, "log_level")
        read("CHIRP_RATE_LIMIT_PER_SECOND", _int(0, 1_000_000), "rate_limit_per_second")
        read("CHIRP_RATE_LIMIT_BURST", _int(0, 1_000_000), "rate_limit_burst")
        read("CHIRP_RATE_LIMIT_ADDRESS_PER_SECOND", _int(0, 1_000_000), "rate_limit_address_per_second")
        read("CHIRP_RATE_LIMIT_ADDRESS_BURST", _int(0, 1_000_000), "rate_limit_address_burst")
        read("CHIRP_RATE_LIMIT_CLIENTS", _int(1, 10_000_000), "rate_limit_clients")
        read("CHIRP_JWT_CLOCK_SKEW", _int(1, 300), "jwt_clock_skew")
        read("CHIRP_MAX_REQUEST_BYTES", _int(1, 1 << 30), "max_request_bytes")
        read("CHIRP_ENVOY_CONCURRENCY", _int(1, 64), "envoy_concurrency")
        read("CHIRP_STARTUP_TIMEOUT", _seconds, "startup_timeout")
        read("CHIRP_STOP_TIMEOUT", _seconds, "stop_timeout")
        read("CHIRP_RESTART", _flag, "restart")
        policy: dict[str, Any] = {}
        read("CHIRP_RESTART_MAX_DELAY", _seconds, "max_delay", policy)
        read("CHIRP_CRASH_LOOP_LIMIT", _int(1, 1000), "limit", policy)
        read("CHIRP_CRASH_LOOP_WINDOW", _seconds, "window", policy)
        if policy:
            try:
                values["restart_policy"] = RestartPolicy(**policy)
            except ValueError as exc:
                problems.append(f"CHIRP_RESTART_*/CHIRP_CRASH_LOOP_*: {exc}")

        counts: dict[str, int] = {}
        for e in registry.entries():
            read(f"CHIRP_{e.name.upper()}_PROCESSES", _int(1, registry.MAX_PROCESSES), e.name, counts)
        if counts:
            values["processes"] = counts
        port_overrides: dict[str, int] = {}
        keys = [*ports.INFRA_DEFAULTS]
        for e in registry.entries():
            keys += [e.name, f"{e.name}_metrics"]
        for key in keys:
            var = ports.env_var(key)
            raw = env.get(var, "").strip()
            if raw:
                try:
                    port_overrides[key] = _int(1, 65535)(raw)
                except ValueError as exc:
                    problems.append(f"{var}={raw!r}: {exc}")
        if port_overrides:
            values["port_overrides"] = port_overrides
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(problems))
        values.update(overrides)
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown settings {sorted(unknown)}")
        return cls(**values)


def _flag(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected one of 1/0, true/false, yes/no, on/off")


def _int(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("expected an integer") from None
        if not low <= value <= high:
            raise ValueError(f"expected {low}-{high}")
        return value

    return parse


def _seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("expected a number of seconds") from None
    if value <= 0:
        raise ValueError("expected a positive number of seconds")
    return value


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return level


def _service_list(raw: str) -> tuple[str, ...] | None:
    # "all": every registry entry that is present; "none": infrastructure and Envoy only.
    if raw.lower() == "all":
        return None
    if raw.lower() == "none":
        return ()
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    known = {e.name for e in registry.entries()}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown services {unknown}; known: {', '.join(sorted(known))}, or all, or none")
    return names


def _infra_list(raw: str) -> frozenset[str]:
    if raw.lower() == "none":
        return frozenset()
    names = frozenset(n.strip() for n in raw.split(",") if n.strip())
    unknown = sorted(names - set(INFRA))
    if unknown:
        raise ValueError(f"unknown servers {unknown}; known: {', '.join(INFRA)}, or none")
    return names
