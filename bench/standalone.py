"""What the standalone measurements (`python -m bench.live`, …) share: a quiet stack of their own, and where
their results go."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stack import Settings, Stack

__all__ = ["own_stack", "save"]


@contextlib.asynccontextmanager
async def own_stack(data_dir: Path | None, *, name: str) -> AsyncIterator[Stack]:
    """Every service on free ports, in `data_dir` or else a temporary directory removed afterwards.

    The edge's rate limit is off (a measurement of the system, not of the limiter), and only warnings are logged.
    """
    with contextlib.ExitStack() as cleanup:
        directory = data_dir or Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix=f"chirp-{name}-")))
        settings = Settings(data_dir=directory, free_ports=True, rate_limit_per_second=0, log_level="WARNING")
        async with Stack(settings) as stack:
            yield stack


def save(results: dict[str, Any], results_dir: Path, name: str) -> Path:
    """Write `results` to `<results_dir>/<UTC time>/<name>.json`; returns the path."""
    directory = results_dir / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path
