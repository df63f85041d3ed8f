"""Process configuration: `CHIRP_*` environment variables, parsed and validated once at start.

Every service reads `KitSettings` (or a subclass adding its own fields, which get the same `CHIRP_` prefix).
`load_settings` turns any bad or missing variable into one line naming it and exits with status 2, so an
operator sees `CHIRP_GRPC_PORT: expected an integer, got 'abc'` instead of a pydantic traceback.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from services.kit import registry
from services.kit.retries import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_DELIVER,
    DEFAULT_OUTAGE_BACKOFF,
    RetryPolicy,
    check_schedule,
    parse_schedule,
)

__all__ = ["ENV_PREFIX", "KitSettings", "StartupError", "load_settings", "settings_problems", "with_registry_defaults"]

ENV_PREFIX = "CHIRP_"

S = TypeVar("S", bound="KitSettings")


class StartupError(RuntimeError):
    """The environment a process starts in is unusable (a server unreachable, a port taken).

    The message names the variable to fix; `server.run` prints it and exits with status 1.
    """


class KitSettings(BaseSettings):
    """What every Chirp process is configured with. Subclass it to add a service's own `CHIRP_*` fields."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    grpc_host: str = Field(default="127.0.0.1", min_length=1, description="interface the gRPC server listens on")
    grpc_port: int = Field(default=0, ge=0, le=65535, description="gRPC port; defaults to the registry port, 0 = any")
    mesh_addr: str = Field(default="127.0.0.1:10000", description="host:port of the Envoy mesh listener")
    data_dir: Path = Field(default=Path(".chirp"), description="directory of the SQLite files")
    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server(s), comma-separated")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis / Valkey URL")
    metrics_port: int = Field(default=0, ge=0, le=65535, description="Prometheus /metrics port on 127.0.0.1; 0 = off")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    worker_id: int = Field(default=0, ge=0, le=1023, description="Snowflake worker id; defaults to the registry index")
    shutdown_grace: float = Field(default=5.0, ge=0, description="seconds in-flight RPCs get to finish on shutdown")
    # How consumers retry a failed event (see retries). The schedules are seconds, comma-separated ("1,5,30"):
    # NoDecode keeps pydantic-settings from reading them as JSON.
    event_max_deliver: int = Field(
        default=DEFAULT_MAX_DELIVER, ge=1, le=1000, description="deliveries of an event failing on its own"
    )
    event_retry_backoff: Annotated[tuple[float, ...], NoDecode] = DEFAULT_BACKOFF
    event_outage_backoff: Annotated[tuple[float, ...], NoDecode] = DEFAULT_OUTAGE_BACKOFF

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("event_retry_backoff", "event_outage_backoff", mode="before")
    @classmethod
    def _schedule(cls, value: Any) -> Any:
        return parse_schedule(value) if isinstance(value, str) else value

    @field_validator("event_retry_backoff", "event_outage_backoff")
    @classmethod
    def _sensible_delays(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        return check_schedule(value)

    def retry_policy(self) -> RetryPolicy:
        """The consumers' retry schedules these settings describe."""
        return RetryPolicy(
            max_deliver=self.event_max_deliver,
            backoff=self.event_retry_backoff,
            outage_backoff=self.event_outage_backoff,
        )

    @field_validator("mesh_addr")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("expected host:port")
        return value

    @field_validator("nats_url")
    @classmethod
    def _nats_scheme(cls, value: str) -> str:
        for url in value.split(","):
            if not re.match(r"^(nats|tls|ws|wss)://[^/]+", url.strip()):
                raise ValueError("expected nats://host:port (comma-separated for several servers)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not re.match(r"^(redis|rediss|unix)://", value):
            raise ValueError("expected redis://host:port/db, rediss://… or unix://…")
        return value


def load_settings(cls: type[S], service_name: str) -> S:
    """Parse the environment into `cls` for `service_name`, or print every problem and exit with status 2.

    `grpc_port` and `worker_id` default to the service's registry port and index when the environment does
    not set them; a name outside the registry (a test service) keeps the class defaults.
    """
    try:
        settings = cls()
    except (ValidationError, SettingsError) as exc:
        print(f"chirp-{service_name}: invalid configuration", file=sys.stderr)
        for line in settings_problems(exc):
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(2) from None
    return with_registry_defaults(settings, service_name)


def with_registry_defaults(settings: S, service_name: str) -> S:
    """`settings` with grpc_port / worker_id taken from the registry unless the environment set them."""
    try:
        index, entry = next((i, e) for i, e in enumerate(registry.entries()) if e.name == service_name)
    except StopIteration:
        return settings
    update: dict[str, Any] = {}
    if "grpc_port" not in settings.model_fields_set:
        update["grpc_port"] = entry.port
    if "worker_id" not in settings.model_fields_set:
        update["worker_id"] = index
    return settings.model_copy(update=update)


def settings_problems(exc: ValidationError | SettingsError) -> list[str]:
    """One `CHIRP_<FIELD>: <problem>` line per error of a failed settings parse."""
    if isinstance(exc, SettingsError):
        # Raised for a complex (JSON) field that is not valid JSON; it names the field in its message.
        match = re.search(r'field "(\w+)"', str(exc))
        name = match.group(1) if match else "?"
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        return [f"{_env_name(name)}: expected JSON{cause}"]
    return [f"{_env_name(str(err['loc'][0]) if err['loc'] else '?')}: {_describe(err)}" for err in exc.errors()]


def _env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


_BOUNDS = {"ge": "at least", "gt": "greater than", "le": "at most", "lt": "less than"}
_EXPECTED = {
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_parsing": "expected a number",
    "bool_parsing": "expected true or false",
    "path_type": "expected a path",
}


def _describe(err: Any) -> str:
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    if kind == "missing":
        return "required but not set"
    got = f", got {err['input']!r}"
    if kind in _EXPECTED:
        return _EXPECTED[kind] + got
    if kind == "literal_error":
        return f"expected {ctx.get('expected', 'one of the allowed values')}{got}"
    for key, words in _BOUNDS.items():
        if key in ctx:
            return f"must be {words} {ctx[key]}{got}"
    message: str = err["msg"]
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:] + got
