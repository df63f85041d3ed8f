"""The committed, default-port renderings of the Envoy configs: `gateway/edge.yaml` and `envoy/mesh.yaml`.

They are for readers (and a starting point for deployments); the running stack writes its own copies, with
its ports, to `<data>/run/`. `python -m stack render` rewrites them; a test fails when they drift.
"""

from __future__ import annotations

from pathlib import Path

from services.kit import registry

from . import descriptors, envoy_config
from .settings import REPO_ROOT

__all__ = ["default_configs", "write"]

_DESCRIPTOR = "gen/descriptor.binpb"


def default_configs() -> dict[Path, str]:
    """Path -> text of each committed config, rendered from the registry with default ports."""
    # One process each: the number a `processes = "cores"` entry runs depends on the machine it runs on.
    upstreams = [envoy_config.Upstream(e.name, e.proto, (e.port,)) for e in registry.services()]
    protos = [u.proto for u in upstreams]
    descriptor = REPO_ROOT / _DESCRIPTOR
    # Streaming routes depend on the contracts; before `make gen` has run there are none to know of.
    streaming = descriptors.load(descriptor).streaming_paths_of(protos) if descriptor.is_file() else ()
    edge = envoy_config.edge(
        upstreams, options=envoy_config.EdgeOptions(descriptor=_DESCRIPTOR), streaming_paths=streaming
    )
    mesh = envoy_config.mesh(upstreams)
    return {
        envoy_config.EDGE_CONFIG_PATH: envoy_config.render(
            edge,
            title="Chirp edge: the public REST/JSON gateway (default ports)",
            notes=[
                "Run from the repository root (the descriptor path is relative):",
                "  envoy -c gateway/edge.yaml --concurrency 1",
                "`make up` writes this stack's own copy, with its ports, to .chirp/run/edge.yaml.",
            ],
        ),
        envoy_config.MESH_CONFIG_PATH: envoy_config.render(
            mesh,
            title="Chirp mesh: service-to-service gRPC (default ports)",
            notes=[
                "Services reach each other at CHIRP_MESH_ADDR (this listener); timeouts, retries,",
                "outlier detection and circuit breaking happen here, not in Python.",
                "`make up` writes this stack's own copy, with its ports, to .chirp/run/mesh.yaml.",
            ],
        ),
    }


def write() -> list[Path]:
    """Rewrite the committed configs; return the ones that changed."""
    changed = []
    for path, text in default_configs().items():
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed
