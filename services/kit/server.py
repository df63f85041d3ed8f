"""The process entry of every Chirp service and worker: `run(name, setup)`.

`run` loads the settings, sets up logging, tracing and metrics, and serves until SIGTERM/SIGINT. `setup(rt)`
is the service's own wiring: it opens what it needs through the `Runtime` and registers its servicer.
`serving(...)` is the same life cycle as an async context manager, for tests and embedding.

Shutdown, in order: health NOT_SERVING (load balancers and Envoy stop sending), `server.stop(grace)` (calls
in flight finish), event consumers stop after their current events, other background tasks are cancelled,
NATS is drained (pending acks and publishes flushed), then stores and clients close (`rt.stack`, last
opened first).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Generic, TypeAlias, overload

import grpc
import redis.asyncio
import uvloop
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from typing_extensions import TypeVar

from services.kit import clients, telemetry
from services.kit import redis as kit_redis
from services.kit.config import KitSettings, StartupError, load_settings
from services.kit.events import Events
from services.kit.interceptors import server_interceptors
from services.kit.logs import setup_logging
from services.kit.outbox import Outbox
from services.kit.snowflake import Snowflake
from services.kit.sqlite import Database

__all__ = ["Context", "Runtime", "Setup", "run", "serving"]

log = logging.getLogger(__name__)

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
"""The `context` argument of a servicer method: `async def GetTweet(self, request: X, context: Context)`."""

# With a default, a bare `Runtime` annotation means `Runtime[KitSettings]` (PEP 696, via typing_extensions).
S = TypeVar("S", bound=KitSettings, default=KitSettings)
T = TypeVar("T")


class Runtime(Generic[S]):
    """What a service's `setup` gets: its settings, the gRPC server, and lazily opened shared resources.

    Everything opened through it is closed at shutdown in the documented order; the service adds its own
    cleanups to `stack`.
    """

    def __init__(self, service: str, settings: S, server: grpc.aio.Server, stack: AsyncExitStack) -> None:
        self.service = service
        self.settings = settings
        self.server = server
        self.stack = stack
        self.snowflake = Snowflake(settings.worker_id)
        self.port = 0  # the bound gRPC port, known once serving (useful when grpc_port is 0)
        self.services: list[str] = []
        self.failed = False  # a background task crashed; the process exits with status 1
        self._stop = asyncio.Event()
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._channel: grpc.aio.Channel | None = None
        self._events: Events | None = None
        self._redis: redis.asyncio.Redis | None = None
        self._connecting = asyncio.Lock()  # two tasks asking at once must share one connection

    def add_service(self, full_name: str) -> None:
        """Announce a gRPC service registered on `rt.server` (e.g. "chirp.tweet.v1.TweetService") to health
        checking and reflection."""
        self.services.append(full_name)

    def channel(self) -> grpc.aio.Channel:
        """The shared channel to the Envoy mesh (`CHIRP_MESH_ADDR`), with tracing and caller propagation."""
        if self._channel is None:
            self._channel = clients.mesh_channel(self.settings.mesh_addr, service=self.service)
            self.stack.push_async_callback(self._channel.close)
        return self._channel

    def stub(self, stub_class: Callable[[Any], T]) -> T:
        """A stub on the mesh channel: `rt.stub(TweetServiceStub)`."""
        return clients.stub(self.channel(), stub_class)

    async def events(self) -> Events:
        """The process's NATS JetStream connection (`CHIRP_NATS_URL`), connected on first use."""
        async with self._connecting:
            if self._events is None:
                self._events = await Events.connect(
                    self.settings.nats_url, service=self.service, retry=self.settings.retry_policy()
                )
            return self._events

    async def redis(self) -> redis.asyncio.Redis:
        """The process's Redis client (`CHIRP_REDIS_URL`), connected and pinged on first use."""
        async with self._connecting:
            if self._redis is None:
                self._redis = await kit_redis.connect(self.settings.redis_url)
                self.stack.push_async_callback(self._redis.aclose)
            return self._redis

    async def database(self, name: str, migrations: Sequence[str]) -> Database:
        """The SQLite database `<CHIRP_DATA_DIR>/<name>.db`, migrated; closed at shutdown."""
        db = await Database.open(self.settings.data_dir / f"{name}.db", migrations)
        self.stack.push_async_callback(db.close)
        return db

    async def outbox(self, db: Database) -> Outbox:
        """The transactional outbox of `db`, with its relay running in the background."""
        box = Outbox(db, await self.events())
        self.spawn(box.relay(), name=f"outbox-{db.path.stem}")
        return box

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str | None = None) -> asyncio.Task[Any]:
        """Run `coro` in the background until it returns or shutdown cancels it.

        A background task that raises is a broken process (a consumer that silently stopped): it is logged
        and the process shuts down with status 1, for the supervisor to restart it.
        """
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        log.error("background task %s crashed", task.get_name(), exc_info=task.exception())
        if not self._stopping:
            self.failed = True
            self.request_stop()

    def request_stop(self) -> None:
        """Begin the graceful shutdown (what SIGTERM does)."""
        self._stop.set()

    async def wait_for_stop(self) -> None:
        """Return once a stop was requested."""
        await self._stop.wait()

    async def _shutdown(self, health_servicer: health.aio.HealthServicer | None, started: bool) -> None:
        self._stopping = True
        grace = self.settings.shutdown_grace
        if health_servicer is not None:
            await health_servicer.enter_graceful_shutdown()
        if started:
            await self.server.stop(grace)
        if self._events is not None:
            await self._events.stop_consuming(within=grace)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        if self._events is not None:
            await self._events.close()


Setup = Callable[[Runtime[S]], Awaitable[None]]


@asynccontextmanager
async def serving(service: str, settings: S, setup: Setup[S]) -> AsyncIterator[Runtime[S]]:
    """Set up and start the server for `service`; on exit, shut it down gracefully.

    Inside the block the server listens on `rt.port` and health answers SERVING for "" and every added
    service. Logging and tracing are the caller's business (`run` does them).
    """
    server = grpc.aio.server(
        interceptors=server_interceptors(service),
        # gRPC enables SO_REUSEPORT by default, which lets a second process silently share our port.
        options=[("grpc.so_reuseport", 0)],
    )
    health_servicer: health.aio.HealthServicer | None = None
    started = False
    async with AsyncExitStack() as stack:
        rt = Runtime(service, settings, server, stack)
        try:
            await setup(rt)
            health_servicer = health.aio.HealthServicer()
            health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
            reflection.enable_server_reflection([*rt.services, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
            rt.port = _bind(server, settings)
            await server.start()
            started = True
            for name in (health.OVERALL_HEALTH, *rt.services):
                await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
            log.info("chirp-%s serving on %s:%d", service, settings.grpc_host, rt.port)
            yield rt
        finally:
            log.info("chirp-%s shutting down", service)
            await rt._shutdown(health_servicer, started)
    log.info("chirp-%s stopped", service)


def _bind(server: grpc.aio.Server, settings: KitSettings) -> int:
    address = f"{settings.grpc_host}:{settings.grpc_port}"
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise StartupError(f"CHIRP_GRPC_HOST/CHIRP_GRPC_PORT: cannot listen on {address}: {exc}") from exc
    if port == 0:
        raise StartupError(f"CHIRP_GRPC_HOST/CHIRP_GRPC_PORT: cannot listen on {address} (in use?)")
    return port


@overload
def run(service: str, setup: Setup[KitSettings]) -> None: ...
@overload
def run(service: str, setup: Setup[S], *, settings_cls: type[S]) -> None: ...
def run(service: str, setup: Setup[Any], *, settings_cls: type[KitSettings] = KitSettings) -> None:
    """Run `service` until SIGTERM/SIGINT; exits 2 on bad configuration, 1 if it cannot start or crashed."""
    settings = load_settings(settings_cls, service)
    setup_logging(service, level=settings.log_level, fmt=settings.log_format)
    provider = telemetry.setup_tracing(service)
    code = 0
    try:
        metrics = telemetry.start_metrics_server(settings.metrics_port)
        try:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                code = runner.run(_main(service, settings, setup))
        finally:
            if metrics is not None:
                metrics.shutdown()
    except StartupError as exc:
        log.error("cannot start: %s", exc)
        code = 1
    finally:
        if provider is not None:
            provider.shutdown()
    sys.exit(code)


async def _main(service: str, settings: KitSettings, setup: Setup[Any]) -> int:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    serving_rt: list[Runtime[Any]] = []

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if not serving_rt:
            log.info("%s received during start-up", name)
            if main is not None:
                main.cancel()  # abandon the setup; `serving` still closes what it opened
            return
        rt = serving_rt[0]
        if rt._stop.is_set():
            log.warning("second %s: exiting without a graceful shutdown", name)
            os._exit(1)
        log.info("%s received", name)
        rt.request_stop()

    # Installed before setup, so a stop during a slow start-up is as orderly as one later.
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        async with serving(service, settings, setup) as rt:
            serving_rt.append(rt)
            await rt.wait_for_stop()
    except asyncio.CancelledError:
        return 0
    return 1 if rt.failed else 0
