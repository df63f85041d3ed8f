"""The local stack: NATS, Valkey, Typesense, the Envoy edge and mesh, and every registry process.

    async with Stack(Settings(free_ports=True, data_dir=tmp)) as stack:
        httpx.get(stack.edge_url + "/healthz")

Start-up goes in tiers, each waited for before the next (services connect to the infrastructure when they
start): infrastructure, Envoy, services, then the edge's own view (/healthz 200, JWKS fetched). Shutdown is
the reverse. Any failure stops what was started and raises NotReady with the culprit's last log lines.

Once started, the stack keeps itself running: a process that exits by itself (a crash, `kill -9`, the OOM
killer) is started again with the same command, after a delay that grows while it keeps failing, until it
crash-loops (see stack.restarts). Every restart is logged. /healthz, which the edge serves from this
process's health monitor (stack.health), names what is down meanwhile. A process the stack was asked to stop
(`stop()`, `restart()`) is not a crash.
"""

from __future__ import annotations

import asyncio
import fcntl
import importlib.util
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from services.kit import registry
from services.kit.registry import Entry

from . import descriptors, envoy_config, ports, probes, servers
from .health import Health
from .processes import Process
from .restarts import RestartHistory
from .settings import REPO_ROOT, ConfigError, Settings

__all__ = ["Stack"]

# Process n of a service gets Snowflake worker id <registry index> + 64 * (n - 1): distinct, and stable across
# restarts (ids must never repeat, so a restarted process keeps its worker id).
_WORKER_IDS_PER_PROCESS_NUMBER = 64

log = logging.getLogger(__name__)


class Stack:
    """The processes of one local Chirp, started and stopped together.

    Ports (and so every URL below) are fixed when the Stack is created; processes run between `start()`
    and `stop()`, or inside `async with` / `with`. Create and start it on a long-lived thread (see
    stack.processes on PR_SET_PDEATHSIG).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.data_dir = self.settings.data_dir.resolve()
        self.run_dir = self.data_dir / "run"
        self.log_dir = self.data_dir / "logs"
        entries = registry.entries()
        # Processes per registry entry (CHIRP_<NAME>_PROCESSES, else the registry's default).
        self.counts = self.settings.process_counts()
        overrides = self.settings.port_overrides
        try:
            self.ports = (
                ports.free(entries, overrides=overrides, counts=self.counts)
                if self.settings.free_ports
                else ports.planned(entries, offset=self.settings.port_offset, overrides=overrides, counts=self.counts)
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.edge_url = f"http://127.0.0.1:{self.ports.http}"
        self.mesh_addr = f"127.0.0.1:{self.ports.mesh}"
        self.nats_url = f"nats://127.0.0.1:{self.ports.nats}"
        self.redis_url = f"redis://127.0.0.1:{self.ports.valkey}/0"
        self.typesense_url = f"http://127.0.0.1:{self.ports.typesense}"
        self.typesense_api_key = ""  # read or created at start
        self.processes: dict[str, Process] = {}
        self.services: tuple[str, ...] = ()  # registry entries running
        self.skipped: tuple[str, ...] = ()  # registry entries left out because their module is missing
        self.startup_seconds: dict[str, float] = {}
        self.health = Health()
        self.health_url = f"http://127.0.0.1:{self.ports.health}/healthz"
        self._lock: IO[str] | None = None
        self._keepers: dict[str, asyncio.Task[None]] = {}  # process name -> the task restarting it
        self._histories: dict[str, RestartHistory] = {}
        self._stopping = False
        self._background: tuple[asyncio.AbstractEventLoop, threading.Thread] | None = None  # see __enter__

    # --- lifecycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every selected process and wait until all are ready. Raises ConfigError or NotReady."""
        if self.processes:
            raise RuntimeError("this stack is already running")
        began = time.monotonic()
        deadline = began + self.settings.startup_timeout
        run, self.skipped = self._select()
        for name in self.skipped:
            log.warning("skipping %s: no module %s to run yet", name, registry.entry(name).module)
        self._prepare(run)
        self._stopping = False
        try:
            await self.health.serve(self.ports.health)
            await self._start_infra(deadline)
            if self.settings.envoy:
                await self._start_envoy(deadline)
            await self._start_services(run, deadline)
            if self.settings.envoy:
                await self._await_edge(deadline)
        except BaseException:
            await self.stop()
            raise
        for process in self.processes.values():
            self._keep_running(process)
        self.startup_seconds["total"] = time.monotonic() - began
        log.info("stack ready in %.1fs", self.startup_seconds["total"])

    async def stop(self) -> None:
        """Stop every process, newest tier first: SIGTERM, then SIGKILL after settings.stop_timeout."""
        self._stopping = True
        keepers = list(self._keepers.values())
        for keeper in keepers:
            keeper.cancel()
        await asyncio.gather(*keepers, return_exceptions=True)
        self._keepers.clear()
        # Processes going down on purpose are not news: stop probing before stopping them.
        await self.health.close()
        tiers = [
            [p for name, p in self.processes.items() if ports.entry_of(name) in self.services],
            [p for name, p in self.processes.items() if name in ("edge", "mesh")],
            [p for name, p in self.processes.items() if name in ("nats", "valkey", "typesense")],
        ]
        for tier in tiers:
            statuses = await asyncio.gather(*(p.stop(self.settings.stop_timeout) for p in tier))
            for process, status in zip(tier, statuses, strict=True):
                log.debug("stopped %s (status %s)", process.name, status)
        self.processes.clear()
        self.health = Health()
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None

    async def restart(self, name: str, *, env: Mapping[str, str] | None = None) -> None:
        """Stop the process `name` and start it again, with `env` added to the environment it had started
        with (None: as it was); return once it is ready. Not a crash: it does not count towards the limit."""
        old = self.processes[name]
        keeper = self._keepers.pop(name, None)
        if keeper is not None:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        await old.stop(self.settings.stop_timeout)
        self.health.exited(name, "being restarted")
        base = self.service_env(name) if ports.entry_of(name) in self.services else old.env
        process = Process(name, old.argv, log_path=old.log_path, env={**base, **(env or {})}, cwd=old.cwd)
        process.start()
        self.processes[name] = process
        self.health.restarted(name)
        await probes.wait_ready(
            name, self.health.parts[name].probe, deadline=time.monotonic() + self.settings.startup_timeout,
            process=process,
        )  # fmt: skip
        self.health.ready(name)
        self._keep_running(process)

    def _keep_running(self, process: Process) -> None:
        self._keepers[process.name] = asyncio.ensure_future(self._restart_on_exit(process))

    async def _restart_on_exit(self, process: Process) -> None:
        """Start `process` again whenever it exits by itself, until it crash-loops or the stack stops."""
        name = process.name
        history = self._histories.setdefault(name, RestartHistory(self.settings.restart_policy))
        while True:
            await process.wait()
            if self._stopping or process.stopping:
                return
            ran_for = time.monotonic() - process.started_at
            status = _describe_exit(process.reap())
            if not self.settings.restart:
                log.error(
                    "%s %s; not restarting it (restarts are off). Last lines of %s:\n%s",
                    name, status, process.log_path, process.tail(25),
                )  # fmt: skip
                self.health.exited(name, f"{status}; restarts are off")
                return
            delay = history.exited(ran_for=ran_for, now=time.monotonic())
            if delay is None:
                log.error(
                    "%s %s, %s: it is crash-looping and will not be restarted (restart the stack once it is "
                    "fixed). Last lines of %s:\n%s",
                    name, status, history.describe_limit(), process.log_path, process.tail(25),
                )  # fmt: skip
                self.health.exited(name, f"crash-looping ({status}; {history.describe_limit()})")
                return
            log.warning(
                "%s %s after running %.1fs; restarting it in %.1fs (restart %d)",
                name, status, ran_for, delay, history.restarts,
            )  # fmt: skip
            self.health.exited(name, f"{status}; restarting in {delay:.1f}s")
            await asyncio.sleep(delay)
            process.start()
            self.health.restarted(name)

    async def __aenter__(self) -> Stack:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def __enter__(self) -> Stack:
        # A synchronous caller has no loop of its own, and the stack needs one while it runs (restarts, the
        # health monitor): it gets a thread with a loop, which also forks every child (see PR_SET_PDEATHSIG).
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="chirp-stack", daemon=True)
        thread.start()
        self._background = (loop, thread)
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result()
        except BaseException:
            self._end_background()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._background is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.stop(), self._background[0]).result()
        finally:
            self._end_background()

    def _end_background(self) -> None:
        if self._background is None:
            return
        loop, thread = self._background
        self._background = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    # --- what a service process gets -------------------------------------------------------------------------

    def service_env(self, name: str) -> dict[str, str]:
        """The environment the process `name` ("tweet", or its second process "tweet-2") runs with (also usable
        to run one in-process)."""
        entry, _, n = name.partition("-")
        index = next(i for i, e in enumerate(registry.entries()) if e.name == entry)
        return {
            **os.environ,
            **self.settings.service_env,
            "PYTHONUNBUFFERED": "1",
            "CHIRP_GRPC_HOST": "127.0.0.1",
            "CHIRP_GRPC_PORT": str(self.ports.grpc[name]),
            "CHIRP_METRICS_PORT": str(self.ports.metrics[name]),
            "CHIRP_MESH_ADDR": self.mesh_addr,
            "CHIRP_DATA_DIR": str(self.data_dir),
            "CHIRP_NATS_URL": self.nats_url,
            "CHIRP_REDIS_URL": self.redis_url,
            "CHIRP_TYPESENSE_URL": self.typesense_url,
            "CHIRP_TYPESENSE_API_KEY": self.typesense_api_key,
            "CHIRP_LOG_LEVEL": self.settings.log_level,
            # Snowflake worker id: distinct per process and stable across restarts.
            "CHIRP_WORKER_ID": str(index + _WORKER_IDS_PER_PROCESS_NUMBER * (int(n or 1) - 1)),
        }

    # --- tiers ------------------------------------------------------------------------------------------------

    def _select(self) -> tuple[list[Entry], tuple[str, ...]]:
        chosen = self.settings.services
        explicit = chosen is not None
        candidates = [registry.entry(n) for n in chosen] if chosen is not None else list(registry.entries())
        run, skipped = [], []
        for e in candidates:
            module = self.settings.modules.get(e.name, e.module)
            if _runnable(module):
                run.append(e)
            elif explicit:
                raise ConfigError(f"cannot run {e.name}: no module {module} (python -m {module} would fail)")
            else:
                skipped.append(e.name)
        return run, tuple(skipped)

    def _prepare(self, run: list[Entry]) -> None:
        for d in (self.data_dir, self.run_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        try:
            if not self.settings.free_ports:
                self._check_ports(run)
            if "typesense" in self.settings.infra or run:
                self.typesense_api_key = servers.typesense_api_key(self.data_dir / "typesense.key")
        except BaseException:
            if self._lock is not None:
                self._lock.close()
                self._lock = None
            raise

    def _take_lock(self) -> None:
        lock = (self.data_dir / "stack.lock").open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            lock.close()
            raise ConfigError(
                f"another stack (pid {holder}) is using {self.data_dir}; stop it or set CHIRP_DATA_DIR"
            ) from None
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        self._lock = lock

    def _check_ports(self, run: list[Entry]) -> None:
        wanted: dict[str, int] = {}
        for key in self.settings.infra:
            wanted[key] = getattr(self.ports, key)
        if "nats" in self.settings.infra:
            wanted["nats_monitor"] = self.ports.nats_monitor
        if "typesense" in self.settings.infra:
            wanted["typesense_peering"] = self.ports.typesense_peering
        if self.settings.envoy:
            for key in ("http", "mesh", "edge_admin", "mesh_admin"):
                wanted[key] = getattr(self.ports, key)
            wanted["health"] = self.ports.health
        for e in run:
            for process in self._process_names(e):
                wanted[process] = self.ports.grpc[process]
                wanted[f"{process}_metrics"] = self.ports.metrics[process]
        taken = ports.busy(wanted.items())
        if taken:
            listed = ", ".join(f"{port} ({ports.env_var(key)})" for key, port in taken)
            raise ConfigError(
                f"ports already in use: {listed}. Is another stack running? Stop it, or move this one "
                "with CHIRP_PORT_OFFSET or the variables named."
            )

    async def _start_infra(self, deadline: float) -> None:
        wanted = self.settings.infra
        if not wanted:
            return
        d = self.data_dir
        started: list[str] = []
        if "nats" in wanted:
            (d / "nats").mkdir(exist_ok=True)
            argv = servers.nats_argv(
                self.run_dir / "nats.conf",
                port=self.ports.nats,
                monitor_port=self.ports.nats_monitor,
                store_dir=d / "nats",
            )
            # /healthz answers 200 only once JetStream is up as well.
            self._spawn("nats", argv, kind="server", probe=_http(f"http://127.0.0.1:{self.ports.nats_monitor}/healthz"))
            started.append("nats")
        if "valkey" in wanted:
            (d / "valkey").mkdir(exist_ok=True)
            port = self.ports.valkey
            argv = servers.valkey_argv(port=port, data_dir=d / "valkey")
            self._spawn("valkey", argv, kind="server", probe=lambda: probes.valkey_ping(port))
            started.append("valkey")
        if "typesense" in wanted:
            (d / "typesense").mkdir(exist_ok=True)
            argv = servers.typesense_argv(
                port=self.ports.typesense,
                peering_port=self.ports.typesense_peering,
                data_dir=d / "typesense",
            )
            self._warn_if_typesense_moved(d / "typesense" / "chirp-ports")
            self._spawn(
                "typesense", argv, kind="server", probe=_http(f"{self.typesense_url}/health"),
                env=servers.typesense_env(self.typesense_api_key),
            )  # fmt: skip
            started.append("typesense")
        await self._await_started(started, deadline)

    async def _start_envoy(self, deadline: float) -> None:
        upstreams = [envoy_config.Upstream(e.name, e.proto, self.ports.of(e.name)) for e in registry.services()]
        descriptor, info = self._descriptor([u.proto for u in upstreams])
        transcoded = [u.proto for u in upstreams if u.proto in info.services]
        missing = [u.name for u in upstreams if u.proto not in info.services]
        if missing:
            log.warning("%s lacks %s: their REST routes answer 404", descriptor, ", ".join(missing))
        edge = envoy_config.edge(
            upstreams,
            options=envoy_config.EdgeOptions(
                http_port=self.ports.http,
                admin_port=self.ports.edge_admin,
                descriptor=str(descriptor),
                rate_limit_per_second=self.settings.rate_limit_per_second,
                rate_limit_burst=self.settings.rate_limit_burst,
                rate_limit_address_per_second=self.settings.rate_limit_address_per_second,
                rate_limit_address_burst=self.settings.rate_limit_address_burst,
                rate_limit_clients=self.settings.rate_limit_clients,
                jwt_clock_skew_s=self.settings.jwt_clock_skew,
                max_request_bytes=self.settings.max_request_bytes,
                health_port=self.ports.health,
            ),
            transcoded=transcoded,
            streaming_paths=info.streaming_paths_of(transcoded),
        )
        mesh = envoy_config.mesh(
            upstreams,
            options=envoy_config.MeshOptions(port=self.ports.mesh, admin_port=self.ports.mesh_admin),
        )
        for name, config, admin in (("edge", edge, self.ports.edge_admin), ("mesh", mesh, self.ports.mesh_admin)):
            path = self.run_dir / f"{name}.yaml"
            path.write_text(envoy_config.render(config, title=f"Chirp {name} (generated at stack start)"))
            argv = servers.envoy_argv(path, concurrency=self.settings.envoy_concurrency)
            self._spawn(name, argv, kind="proxy", probe=_http(f"http://127.0.0.1:{admin}/ready"))
        await self._await_started(["edge", "mesh"], deadline)

    async def _start_services(self, run: list[Entry], deadline: float) -> None:
        self.services = tuple(e.name for e in run)
        names = []
        for e in run:
            module = self.settings.modules.get(e.name, e.module)
            for process in self._process_names(e):
                probe = probes.GrpcHealth(self.ports.grpc[process])
                argv = [sys.executable, "-m", module]
                self._spawn(process, argv, kind=e.kind, probe=probe, env=self.service_env(process))
                names.append(process)
        await self._await_started(names, deadline)

    def _process_names(self, e: Entry) -> list[str]:
        return [ports.process_name(e.name, n) for n in range(1, self.counts[e.name] + 1)]

    async def _await_edge(self, deadline: float) -> None:
        checks: list[tuple[str, probes.Probe]] = [("edge /healthz", _http(f"{self.edge_url}/healthz"))]
        if "auth" in self.services:
            admin = self.ports.edge_admin
            checks.append(("edge JWKS", lambda: probes.jwks_fetched(admin)))
        await self._await_all(checks, deadline, owner=self.processes["edge"])
        log.info("REST API at %s", self.edge_url)

    # --- helpers ----------------------------------------------------------------------------------------------

    def _descriptor(self, protos: list[str]) -> tuple[Path, descriptors.DescriptorInfo]:
        path = self.settings.descriptor
        if path.is_file():
            info = descriptors.load(path)
            if info.services & set(protos):
                return path.resolve(), info
            log.warning("%s declares none of the registry services; using a placeholder", path)
        else:
            log.warning("%s not found (run `make gen`); the edge starts with no REST routes", path)
        placeholder = self.run_dir / "placeholder.binpb"
        placeholder.write_bytes(descriptors.placeholder(protos))
        return placeholder, descriptors.load(placeholder)

    def _warn_if_typesense_moved(self, record: Path) -> None:
        # Typesense's raft node id is address:peering_port:api_port. On other ports than last time it finds
        # itself without a leader and resets its peers only at its next periodic check, about 10 s later.
        now = f"{self.ports.typesense} {self.ports.typesense_peering}"
        before = record.read_text().strip() if record.is_file() else now
        if before != now:
            log.warning("typesense ports changed since the last run (%s -> %s): ready in about 10 s", before, now)
        record.write_text(now + "\n")

    def _spawn(
        self, name: str, argv: list[str], *, kind: str, probe: probes.Probe, env: Mapping[str, str] | None = None
    ) -> Process:
        """Start a process and have /healthz report it, `probe` telling whether it serves."""
        process = Process(name, argv, log_path=self.log_dir / f"{name}.log", env=env or os.environ, cwd=REPO_ROOT)
        process.start()
        self.processes[name] = process
        self.health.add(name, kind, probe)
        log.debug("started %s (pid %s)", name, process.pid)
        return process

    async def _await_started(self, names: list[str], deadline: float) -> None:
        """Wait until every process named is ready (by the probe it was spawned with)."""
        await self._await_all([(name, self.health.parts[name].probe) for name in names], deadline)

    async def _await_all(
        self, checks: Iterable[tuple[str, probes.Probe]], deadline: float, *, owner: Process | None = None
    ) -> None:
        async def one(name: str, probe: probes.Probe) -> None:
            process = owner or self.processes.get(name)
            seconds = await probes.wait_ready(name, probe, deadline=deadline, process=process)
            if owner is None:
                self.health.ready(name)
            self.startup_seconds[name] = seconds
            log.info("  %-16s ready in %.1fs", name, seconds)

        tasks = [asyncio.ensure_future(one(name, probe)) for name, probe in checks]
        try:
            await asyncio.gather(*tasks)
        finally:
            # The first failure ends the wait; the other probes have nothing left to report.
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _describe_exit(status: int | None) -> str:
    """`exited with status 3`, `was killed by SIGKILL`."""
    if status is not None and status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"


def _http(url: str) -> probes.Probe:
    return lambda: probes.http_ok(url)


def _runnable(module: str) -> bool:
    """`python -m module` would find something to run (a module, or a package with __main__.py)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    if spec.submodule_search_locations is None:
        return True
    return any((Path(location) / "__main__.py").is_file() for location in spec.submodule_search_locations)
