"""A service whose contract exists but whose issue has not landed yet: every RPC answers UNIMPLEMENTED.

The generated servicer base classes already answer UNIMPLEMENTED for every method, so a placeholder is just
the base class served with health and reflection — the gateway, the mesh and `/healthz` treat it like any
other service, and clients get a clear status instead of a connection error.
"""

from __future__ import annotations

import importlib
from typing import Any

from services.kit import registry
from services.kit.server import Runtime, run

__all__ = ["run_unimplemented"]


def run_unimplemented(name: str) -> None:
    full_name = registry.entry(name).proto
    package, _, service = full_name.rpartition(".")
    module = importlib.import_module(f"{package}.{name}_service_pb2_grpc")

    async def setup(rt: Runtime[Any]) -> None:
        servicer = getattr(module, f"{service}Servicer")()
        getattr(module, f"add_{service}Servicer_to_server")(servicer, rt.server)
        rt.add_service(full_name)

    run(name, setup)
