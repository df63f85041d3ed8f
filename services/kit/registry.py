"""The service registry: which processes Chirp runs, on which default port, serving which gRPC service.

`services/registry.toml` is the single source of truth; the Envoy configs, the local stack and the Helm chart
are all derived from what this module loads.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

__all__ = ["MAX_PROCESSES", "REGISTRY_PATH", "Entry", "entries", "entry", "services"]

REGISTRY_PATH = Path(__file__).resolve().parent.parent / "registry.toml"

Kind = Literal["service", "worker"]
# Processes of one service at most: each has its own port (registry port + 100 * n) and Snowflake worker id.
MAX_PROCESSES = 8


@dataclass(frozen=True, slots=True)
class Entry:
    """One process of the registry."""

    name: str
    port: int
    proto: str
    module: str
    kind: Kind
    processes: int | Literal["cores"] = 1  # how many run by default; "cores": one per CPU core
    alone: str = ""  # why it must run as one process ("" when several may run)

    def default_processes(self) -> int:
        """The number of processes to run when nothing says otherwise."""
        if self.processes == "cores":
            return max(1, min(os.cpu_count() or 1, MAX_PROCESSES))
        return self.processes

    @property
    def proto_package(self) -> str:
        """The protobuf package of the served service, e.g. ``chirp.tweet.v1``."""
        return self.proto.rpartition(".")[0]


@cache
def entries() -> tuple[Entry, ...]:
    """Every registry entry, in file order. Raises ValueError on a malformed registry."""
    raw = tomllib.loads(REGISTRY_PATH.read_text())
    loaded = tuple(Entry(**item) for item in raw["service"])
    _check(loaded)
    return loaded


def services() -> tuple[Entry, ...]:
    """The entries that serve a gRPC API (every entry but the workers)."""
    return tuple(e for e in entries() if e.kind == "service")


def entry(name: str) -> Entry:
    """The entry called `name`. Raises KeyError naming the unknown entry."""
    for e in entries():
        if e.name == name:
            return e
    raise KeyError(f"no service {name!r} in {REGISTRY_PATH}")


def _check(loaded: tuple[Entry, ...]) -> None:
    names = [e.name for e in loaded]
    ports = [e.port for e in loaded]
    if len(set(names)) != len(names):
        raise ValueError(f"{REGISTRY_PATH}: duplicate service names in {names}")
    if len(set(ports)) != len(ports):
        raise ValueError(f"{REGISTRY_PATH}: duplicate ports in {ports}")
    for e in loaded:
        if not e.name.isidentifier():  # a process of it is "<name>-2": no dash in the name itself
            raise ValueError(f"{REGISTRY_PATH}: {e.name!r}: a name is letters, digits and underscores")
        if e.kind not in ("service", "worker"):
            raise ValueError(f"{REGISTRY_PATH}: {e.name}: kind must be 'service' or 'worker', not {e.kind!r}")
        if (e.kind == "service") != bool(e.proto):
            raise ValueError(f"{REGISTRY_PATH}: {e.name}: a service names its proto service, a worker none")
        if e.processes != "cores" and not (isinstance(e.processes, int) and 1 <= e.processes <= MAX_PROCESSES):
            raise ValueError(f"{REGISTRY_PATH}: {e.name}: processes must be 1-{MAX_PROCESSES} or \"cores\"")
        if e.alone and e.processes != 1:
            raise ValueError(f"{REGISTRY_PATH}: {e.name}: a process that must run alone cannot default to more")
