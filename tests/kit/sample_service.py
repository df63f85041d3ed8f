"""A minimal kit process for the process-level tests: `python -m tests.kit.sample_service`.

It serves health only (like a worker). With CHIRP_SAMPLE_CRASH=1 a background task fails after start,
which must bring the process down with status 1. With CHIRP_SAMPLE_SLOW_START=1 its setup never finishes
(it writes `<data_dir>/setting-up` first), to test a stop during start-up.
"""

from __future__ import annotations

import asyncio
import os

from services.kit.config import KitSettings
from services.kit.server import Runtime, run


async def setup(rt: Runtime[KitSettings]) -> None:
    if os.environ.get("CHIRP_SAMPLE_SLOW_START") == "1":
        rt.settings.data_dir.mkdir(parents=True, exist_ok=True)
        (rt.settings.data_dir / "setting-up").touch()
        await asyncio.Event().wait()
    if os.environ.get("CHIRP_SAMPLE_CRASH") == "1":

        async def crash() -> None:
            await asyncio.sleep(0.2)
            raise RuntimeError("background task broke")

        rt.spawn(crash(), name="crasher")


if __name__ == "__main__":
    run("sample", setup)
