"""The local Chirp stack: NATS, Valkey, Typesense, the Envoy edge and mesh, and every registry process.

`python -m stack up` (what `make up` runs) or, from Python and tests, `async with Stack(Settings(...))`.
"""

from __future__ import annotations

from .probes import NotReady
from .settings import ConfigError, Settings
from .supervisor import Stack

__all__ = ["ConfigError", "NotReady", "Settings", "Stack"]
