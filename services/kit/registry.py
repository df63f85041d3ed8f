"""The service registry: which processes Chirp runs, on which default port, serving which gRPC service.

`services/registry.toml` is the single source of truth; the Envoy configs, the local stack and the Helm chart
are all derived from what this module loads.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

__all__ = ["REGISTRY_PATH", "Entry", "entries", "entry", "services"]

REGISTRY_PATH = Path(__file__).resolve().parent.parent / "registry.toml"

Kind = Literal["service", "worker"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One process of the registry."""

    name: str
    port: int
    proto: str
    module: str
    kind: Kind

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
        if e.kind not in ("service", "worker"):
            raise ValueError(f"{REGISTRY_PATH}: {e.name}: kind must be 'service' or 'worker', not {e.kind!r}")
        if (e.kind == "service") != bool(e.proto):
            raise ValueError(f"{REGISTRY_PATH}: {e.name}: a service names its proto service, a worker none")
