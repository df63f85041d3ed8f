"""Which loopback port every process of the local stack listens on.

Defaults come from the registry (service gRPC ports) and from the servers' customary ports (infra), shifted by
an optional offset and overridden one by one; or, for tests, every port is a free ephemeral one.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field

from services.kit.registry import Entry

__all__ = [
    "INFRA_DEFAULTS",
    "METRICS_BASE",
    "REPLICA_STEP",
    "Ports",
    "busy",
    "entry_of",
    "env_var",
    "free",
    "planned",
    "process_name",
]

# Ports of everything that is not a registry entry, by key. The key names the environment variable that
# overrides it: "http" -> CHIRP_HTTP_PORT.
INFRA_DEFAULTS: Mapping[str, int] = {
    "http": 8080,  # the edge: the REST address clients use
    "mesh": 10000,  # the mesh listener services call each other through
    "edge_admin": 9901,
    "mesh_admin": 9902,
    "health": 9903,  # the supervisor's report of every process, which the edge serves as /healthz
    "nats": 4222,
    "nats_monitor": 8222,
    "valkey": 6379,
    "typesense": 8108,
    "typesense_peering": 8107,
}
# A process's Prometheus port defaults to this plus its registry index (auth: 9464, user: 9465, ...): the
# OpenTelemetry Prometheus exporter's port, and below Linux's ephemeral range (32768-60999), where any
# outgoing connection or test's free port could take it between our check and the service's bind.
METRICS_BASE = 9464

_LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Ports:
    """Every port of one stack, all on 127.0.0.1."""

    http: int
    mesh: int
    edge_admin: int
    mesh_admin: int
    health: int
    nats: int
    nats_monitor: int
    valkey: int
    typesense: int
    typesense_peering: int
    # Process name -> its gRPC port and its metrics port. A registry entry's first process has the entry's name
    # ("tweet"), the others a number ("tweet-2"): see `process_name`.
    grpc: Mapping[str, int] = field(default_factory=dict)
    metrics: Mapping[str, int] = field(default_factory=dict)

    def of(self, name: str) -> tuple[int, ...]:
        """The gRPC ports of every process of the registry entry `name`, first process first."""
        return tuple(port for process, port in self.grpc.items() if entry_of(process) == name)

    def labelled(self) -> Iterator[tuple[str, int]]:
        """(override key, port) for every port; the key maps to its variable through `env_var`."""
        for key in INFRA_DEFAULTS:
            yield key, getattr(self, key)
        for name, port in self.grpc.items():
            yield name, port
        for name, port in self.metrics.items():
            yield f"{name}_metrics", port


def env_var(key: str) -> str:
    """The variable overriding the port with this key: "http" -> CHIRP_HTTP_PORT, "tweet" -> CHIRP_TWEET_PORT.

    A later process of an entry has no variable of its own: "tweet-2" -> "CHIRP_TWEET_PORT + 100".
    """
    suffix = "_metrics" if key.endswith("_metrics") else ""
    entry, _, n = key.removesuffix("_metrics").partition("-")
    var = f"CHIRP_{(entry + suffix).upper()}_PORT"
    return f"{var} + {REPLICA_STEP * (int(n) - 1)}" if n else var


REPLICA_STEP = 100  # the n-th process of an entry listens on the entry's port + 100 * (n - 1)


def process_name(name: str, n: int) -> str:
    """The name of process `n` (1, 2, …) of the registry entry `name`: "tweet", "tweet-2", …"""
    return name if n == 1 else f"{name}-{n}"


def entry_of(process: str) -> str:
    """The registry entry a process belongs to: "tweet-2" -> "tweet"."""
    return process.partition("-")[0]


def planned(
    entries: Iterable[Entry],
    *,
    offset: int = 0,
    overrides: Mapping[str, int] | None = None,
    counts: Mapping[str, int] | None = None,
) -> Ports:
    """Default ports shifted by `offset`, then `overrides` (by key) applied. Raises ValueError on a clash.

    `counts` is how many processes each entry runs (default 1); process n listens 100 * (n - 1) above the first.
    """
    entries = tuple(entries)
    counts = counts or {}
    overrides = dict(overrides or {})
    known = set(INFRA_DEFAULTS) | {e.name for e in entries} | {f"{e.name}_metrics" for e in entries}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown port keys {unknown}; known: {sorted(known)}")

    def pick(key: str, default: int) -> int:
        return overrides.get(key, default + offset)

    grpc, metrics = {}, {}
    for i, e in enumerate(entries):
        first, first_metrics = pick(e.name, e.port), pick(f"{e.name}_metrics", METRICS_BASE + i)
        for n in range(1, counts.get(e.name, 1) + 1):
            grpc[process_name(e.name, n)] = first + REPLICA_STEP * (n - 1)
            metrics[process_name(e.name, n)] = first_metrics + REPLICA_STEP * (n - 1)
    ports = Ports(**{key: pick(key, default) for key, default in INFRA_DEFAULTS.items()}, grpc=grpc, metrics=metrics)
    _check(ports)
    return ports


def free(
    entries: Iterable[Entry], *, overrides: Mapping[str, int] | None = None, counts: Mapping[str, int] | None = None
) -> Ports:
    """Distinct free ephemeral loopback ports for everything not in `overrides` (tests: no fixed port)."""
    entries = tuple(entries)
    processes = [process_name(e.name, n) for e in entries for n in range(1, (counts or {}).get(e.name, 1) + 1)]
    keys = [*INFRA_DEFAULTS, *processes, *(f"{p}_metrics" for p in processes)]
    chosen = dict(overrides or {})
    unknown = sorted(set(chosen) - set(keys))
    if unknown:
        raise ValueError(f"unknown port keys {unknown}")
    # Hold every socket until all are chosen, so the kernel cannot hand out one port twice.
    with ExitStack() as held:
        for key in keys:
            if key in chosen:
                continue
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((_LOOPBACK, 0))
            while sock.getsockname()[1] in chosen.values():  # an override took it: try again
                sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                sock.bind((_LOOPBACK, 0))
            chosen[key] = sock.getsockname()[1]
    ports = Ports(
        **{key: chosen[key] for key in INFRA_DEFAULTS},
        grpc={p: chosen[p] for p in processes},
        metrics={p: chosen[f"{p}_metrics"] for p in processes},
    )
    _check(ports)
    return ports


def busy(ports: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """The (key, port) pairs someone already listens on, so start-up can fail with a clear message."""
    taken = []
    for key, port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # As the servers do: a port in TIME_WAIT from the previous run is free, a listening one is not.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((_LOOPBACK, port))
            except OSError:
                taken.append((key, port))
    return taken


def _check(ports: Ports) -> None:
    seen: dict[int, str] = {}
    for key, port in ports.labelled():
        if not 1 <= port <= 65535:
            raise ValueError(f"{env_var(key)}: port {port} is outside 1-65535")
        if port in seen:
            raise ValueError(f"{env_var(key)} and {env_var(seen[port])} are both {port}")
        seen[port] = key
