"""Tracing set-up: spans are recorded only when something collects them, and their ids always propagate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: the global TracerProvider can be set only once per process.
_PROBE = """
import json
from opentelemetry import trace
from services.kit import telemetry
telemetry.setup_tracing("probe")
with trace.get_tracer("probe").start_as_current_span("call") as span:
    context = span.get_span_context()
    print(json.dumps({"recording": span.is_recording(), "valid": context.is_valid}))
"""


def _probe(**env: str) -> dict[str, bool]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=REPO, env={**clean, **env}, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, bool] = json.loads(result.stdout)
    return answer


def test_without_an_exporter_spans_carry_ids_but_are_not_recorded() -> None:
    assert _probe() == {"recording": False, "valid": True}


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_TRACES_SAMPLER": "always_on"},
        # An unreachable collector: the exporter only tries to send when the batch is flushed at exit.
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_TIMEOUT": "1"},
    ],
)
def test_an_exporter_or_an_explicit_sampler_records_spans(env: dict[str, str]) -> None:
    assert _probe(**env) == {"recording": True, "valid": True}
