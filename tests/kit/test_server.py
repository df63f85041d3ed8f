"""The process life cycle: health, reflection, graceful shutdown, background-task failure, the real `run`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from services.kit.config import KitSettings
from services.kit.server import Runtime, serving
from tests.kit.servers import free_port
from tests.kit.support import SERVICE, call, eventually, running, settings, unary

REPO = Path(__file__).resolve().parents[2]
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def _ok(request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
    return empty_pb2.Empty()


METHODS = {"Ok": unary(_ok, empty_pb2.Empty, empty_pb2.Empty)}


async def _check(channel: grpc.aio.Channel, service: str) -> int:
    response = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
    return response.status


async def test_health_serving_for_server_and_each_service(tmp_path: Path) -> None:
    async with running(tmp_path, METHODS) as (_, channel):
        assert await _check(channel, "") == SERVING
        assert await _check(channel, SERVICE) == SERVING
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await _check(channel, "chirp.nope.v1.NopeService")
        assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_reflection_lists_the_services(tmp_path: Path) -> None:
    async with running(tmp_path, METHODS) as (_, channel):
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        responses = [r async for r in stub.ServerReflectionInfo(iter([request]))]
    names = {s.name for s in responses[0].list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health"} <= names


async def test_graceful_shutdown_reports_not_serving_then_stops(tmp_path: Path) -> None:
    started: asyncio.Queue[Runtime[Any]] = asyncio.Queue()

    async def serve() -> None:
        async with running(tmp_path, METHODS) as (rt, _):
            await started.put(rt)
            await rt.wait_for_stop()  # as `run` does, until a signal asks to stop

    server = asyncio.create_task(serve())
    rt = await asyncio.wait_for(started.get(), 5)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{rt.port}") as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=SERVICE))
        assert (await watch.read()).status == SERVING
        rt.request_stop()  # what SIGTERM does
        assert (await asyncio.wait_for(watch.read(), 5)).status == NOT_SERVING
        await asyncio.wait_for(server, 5)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call(channel, "Ok", empty_pb2.Empty(), empty_pb2.Empty)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_shutdown_cancels_background_tasks(tmp_path: Path) -> None:
    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def setup(rt: Runtime[Any]) -> None:
        rt.spawn(forever(), name="forever")

    async with running(tmp_path, METHODS, setup=setup) as (_, channel):
        await call(channel, "Ok", empty_pb2.Empty(), empty_pb2.Empty)
        assert not cancelled.is_set()
    assert cancelled.is_set()


async def test_crashed_background_task_requests_a_failing_stop(tmp_path: Path) -> None:
    async def crash() -> None:
        raise RuntimeError("consumer broke")

    async def setup(rt: Runtime[Any]) -> None:
        rt.spawn(crash(), name="crasher")

    async with running(tmp_path, METHODS, setup=setup) as (rt, _):
        await asyncio.wait_for(rt.wait_for_stop(), 5)
        assert rt.failed


async def test_port_in_use_is_a_startup_error_naming_the_variable(tmp_path: Path) -> None:
    from services.kit.config import StartupError

    async def nothing(rt: Runtime[KitSettings]) -> None:
        pass

    async with serving("a", settings(tmp_path), nothing) as first:
        with pytest.raises(StartupError, match="CHIRP_GRPC_PORT"):
            async with serving("b", settings(tmp_path, grpc_port=first.port), nothing):
                pass


# --- the real process entry, `run`, in a subprocess ---


@pytest.fixture
def sample_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHIRP_", "OTEL_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "gen")]),
        CHIRP_GRPC_PORT=str(free_port()),
        CHIRP_DATA_DIR=str(tmp_path / "data"),
        CHIRP_SHUTDOWN_GRACE="1",
    )
    yield env


def _start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.kit.sample_service"], env=env, cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


async def _wait_serving(port: str, process: subprocess.Popen[bytes]) -> grpc.aio.Channel:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")

    async def serving_now() -> bool:
        assert process.poll() is None, process.communicate()[1].decode()
        try:
            return await _check(channel, "") == SERVING
        except grpc.aio.AioRpcError:
            return False

    await eventually(serving_now, within=20, interval=0.05)
    return channel


async def test_run_serves_until_sigterm_and_exits_cleanly(sample_env: dict[str, str]) -> None:
    process = _start(sample_env)
    try:
        channel = await _wait_serving(sample_env["CHIRP_GRPC_PORT"], process)
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == SERVING
        process.send_signal(signal.SIGTERM)
        assert (await asyncio.wait_for(watch.read(), 5)).status == NOT_SERVING
        await channel.close()
        code = await asyncio.to_thread(process.wait, 10)
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.communicate()[1].decode()
    assert code == 0, stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert lines, stderr
    assert all(line["service"] == "chirp-sample" for line in lines)
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    messages = [line["message"] for line in lines]
    assert any("SIGTERM" in m for m in messages)
    # Ours last; gRPC may still log the health watch its shutdown cut off ("Exception not handled … Watch").
    assert [m for m, line in zip(messages, lines, strict=True) if line["logger"].startswith("services.")][-1] == (
        "chirp-sample stopped"
    )


async def test_run_stops_cleanly_when_signalled_during_start_up(sample_env: dict[str, str]) -> None:
    process = _start({**sample_env, "CHIRP_SAMPLE_SLOW_START": "1"})
    marker = Path(sample_env["CHIRP_DATA_DIR"]) / "setting-up"
    try:
        await eventually(lambda: marker.exists() or process.poll() is not None, within=20, interval=0.05)
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 10)
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.communicate()[1].decode()
    assert code == 0, stderr
    assert "SIGTERM received during start-up" in stderr


async def test_run_exits_1_when_a_background_task_crashes(sample_env: dict[str, str]) -> None:
    process = _start({**sample_env, "CHIRP_SAMPLE_CRASH": "1"})
    code = await asyncio.to_thread(process.wait, 20)
    stderr = process.communicate()[1].decode()
    assert code == 1, stderr
    assert "background task broke" in stderr


async def test_run_exits_2_naming_each_bad_variable(sample_env: dict[str, str]) -> None:
    env = {**sample_env, "CHIRP_GRPC_PORT": "abc", "CHIRP_LOG_FORMAT": "xml"}
    process = _start(env)
    code = await asyncio.to_thread(process.wait, 20)
    stderr = process.communicate()[1].decode()
    assert code == 2, stderr
    assert "CHIRP_GRPC_PORT: expected an integer, got 'abc'" in stderr
    assert "CHIRP_LOG_FORMAT: expected 'json' or 'text', got 'xml'" in stderr
    assert "Traceback" not in stderr


def test_metrics_endpoint_serves_prometheus_text() -> None:
    import urllib.request

    from services.kit import telemetry

    assert telemetry.start_metrics_server(0) is None
    port = free_port()
    server = telemetry.start_metrics_server(port)
    assert server is not None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            body = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert "grpc_server_handled_total" in body
    assert "chirp_events_handled_total" in body
