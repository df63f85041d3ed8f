"""What the stack's /healthz says: every process it runs, probed continuously, as JSON on a loopback port.

    health = Health()
    health.add("fanout", "worker", probes.GrpcHealth(port))
    await health.serve(port)          # GET /healthz; the edge routes its own /healthz here

A part is SERVING while its process runs and its probe passes (the same probes the stack waits on at start:
gRPC health for services and workers, NATS's and Typesense's health endpoints, Valkey's PING, Envoy's
/ready). The supervisor tells the monitor at once when a process exits, so a crash shows within
milliseconds, not at the next probe; a running process is down after `failures_to_down` failed probes in a
row (one slow answer under load is not an outage), and up again after one success.

200 `{"status": "SERVING", "parts": {...}}` while every part serves; otherwise 503 with the JSON error
shape every other error of the edge has (a `google.rpc.Status`: code 14 UNAVAILABLE, a message naming what
is down, and an `ErrorInfo` whose metadata maps each part that is down to why), plus the same `parts`.
Before the Envoy edge, so that a person or a probe can tell "the edge is down" (connection refused) from
"something behind it is" (503 naming it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .probes import Probe

__all__ = ["Health", "Part"]

log = logging.getLogger(__name__)

_UNAVAILABLE = 14  # google.rpc.Code


@dataclass(slots=True)
class Part:
    """One process as /healthz reports it."""

    name: str
    kind: str  # "server", "proxy", "service" or "worker"
    probe: Probe
    serving: bool = False
    problem: str = "starting"  # why it is not serving; "" while it serves
    probing: bool = True  # False while the process is not running: nothing to ask
    failures: int = 0  # failed probes in a row
    restarts: int = 0
    changed: float = field(default_factory=time.monotonic)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "status": "SERVING" if self.serving else "NOT_SERVING"}
        if not self.serving:
            out["problem"] = self.problem
        out["restarts"] = self.restarts
        return out


class Health:
    """The health of every part of one stack; `run()` probes, `serve()` answers /healthz."""

    def __init__(self, *, interval: float = 1.0, fast_interval: float = 0.1, failures_to_down: int = 2) -> None:
        self.interval = interval  # between probes of a serving part
        self.fast_interval = fast_interval  # between probes of a part coming back, so it is seen as soon as it is
        self.failures_to_down = failures_to_down
        self.parts: dict[str, Part] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None

    # --- what the supervisor tells it -------------------------------------------------------------------------

    def add(self, name: str, kind: str, probe: Probe) -> None:
        """A part to report on, not serving until `ready` or its probe says so."""
        self.parts[name] = Part(name, kind, probe)
        self._tasks.append(asyncio.ensure_future(self._watch(self.parts[name])))

    def ready(self, name: str) -> None:
        """The start-up wait saw the part ready."""
        self._set(self.parts[name], serving=True, problem="")

    def exited(self, name: str, problem: str) -> None:
        """The part's process is not running; say why (e.g. "exited with status 1; restarting in 0.2s")."""
        part = self.parts[name]
        part.probing = False
        self._set(part, serving=False, problem=problem)

    def restarted(self, name: str) -> None:
        """The part's process runs again; it serves once its probe passes."""
        part = self.parts[name]
        part.restarts += 1
        part.probing = True
        part.failures = 0
        self._set(part, serving=False, problem=f"restarted (restart {part.restarts}); not ready yet")
        part.wake.set()

    # --- what it says -----------------------------------------------------------------------------------------

    @property
    def serving(self) -> bool:
        return all(p.serving for p in self.parts.values())

    def down(self) -> dict[str, str]:
        """Each part that is not serving, with why."""
        return {p.name: p.problem for p in self.parts.values() if not p.serving}

    def body(self) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON body of /healthz."""
        parts = {p.name: p.report() for p in self.parts.values()}
        down = self.down()
        if not down:
            return 200, {"status": "SERVING", "parts": parts}
        listed = ", ".join(f"{name} ({why})" for name, why in down.items())
        info = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "NOT_SERVING",
            "domain": "chirp.stack",
            "metadata": down,
        }
        return 503, {
            "code": _UNAVAILABLE,
            "message": f"not serving: {listed}",
            "details": [info],
            "status": "NOT_SERVING",
            "parts": parts,
        }

    # --- running ----------------------------------------------------------------------------------------------

    async def serve(self, port: int) -> None:
        """Answer GET /healthz on 127.0.0.1:`port` until `close()`."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for part in self.parts.values():
            closer = getattr(part.probe, "close", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        status, body = self.body()
        return web.Response(status=status, text=json.dumps(body), content_type="application/json")

    async def _watch(self, part: Part) -> None:
        while True:
            if not part.probing:
                part.wake.clear()
                await part.wake.wait()
                continue
            try:
                ok = await part.probe()
            except Exception as exc:  # a probe is not supposed to raise; if it does, that is a failure too
                log.debug("probe of %s raised %r", part.name, exc)
                ok = False
            if part.probing:  # the process may have exited while the probe ran
                self._probed(part, ok)
            pause = self.interval if part.serving else self.fast_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(part.wake.wait(), pause)
            part.wake.clear()

    def _probed(self, part: Part, ok: bool) -> None:
        if ok:
            part.failures = 0
            if not part.serving:
                back = part.restarts > 0 and part.problem.startswith("restarted")
                down_for = time.monotonic() - part.changed
                self._set(part, serving=True, problem="")
                if back:
                    log.info("%s is serving again, %.1fs after it went down", part.name, down_for)
            return
        part.failures += 1
        if part.serving and part.failures >= self.failures_to_down:
            log.warning("%s is running but not answering its health check", part.name)
            self._set(part, serving=False, problem="running, but not answering its health check")

    def _set(self, part: Part, *, serving: bool, problem: str) -> None:
        if part.serving != serving:
            part.changed = time.monotonic()
        part.serving = serving
        part.problem = problem
