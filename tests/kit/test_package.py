"""The kit's package surface: every advertised name resolves, and the registry stays cheap to import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import services.kit as kit

REPO = Path(__file__).resolve().parents[2]


def test_every_exported_name_resolves() -> None:
    for name in kit.__all__:
        assert getattr(kit, name) is not None, name


def test_registry_import_pulls_in_no_runtime_dependencies() -> None:
    # The stack supervisor and tools import the registry; they must not need gRPC, NATS or gen/ for that.
    code = (
        "import sys, services.kit.registry as r; r.entries(); "
        "heavy = [m for m in ('grpc', 'nats', 'redis', 'protovalidate', 'opentelemetry') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
