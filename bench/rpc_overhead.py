"""What one RPC costs a Chirp server beyond its handler: the kit's interceptors against a bare grpc.aio server.

    .venv/bin/python -m bench.rpc_overhead [--calls 20000] [--concurrency 16]

Each server runs in a process of its own and answers TimelineService.Ping (a handler that does nothing); the
client calls it `--calls` times, and the server process's CPU time (from /proc) is divided by the calls. Every
Chirp RPC pays this per process it crosses — a home-timeline read crosses five — so it bounds what any
handler optimisation can reach. The same run measures the bare server: the baseline of grpc.aio itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import grpc
import uvloop
from chirp.timeline.v1 import timeline_service_pb2, timeline_service_pb2_grpc

from bench.cpu import cpu_seconds
from services.kit.identity import USER_ID_HEADER

_REPO = Path(__file__).resolve().parents[1]
_MODES = ("bare", "kit")


class _Ping(timeline_service_pb2_grpc.TimelineServiceServicer):
    async def Ping(
        self, request: timeline_service_pb2.PingRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> timeline_service_pb2.PingResponse:
        return timeline_service_pb2.PingResponse()


async def _serve(mode: str) -> None:
    if mode == "bare":
        server = grpc.aio.server()
    else:
        from services.kit.interceptors import server_interceptors
        from services.kit.telemetry import setup_tracing

        setup_tracing("bench")  # as a service process has it
        server = grpc.aio.server(interceptors=server_interceptors("bench"))
    timeline_service_pb2_grpc.add_TimelineServiceServicer_to_server(_Ping(), server)
    port = server.add_insecure_port("127.0.0.1:0")  # any free port: told to the parent on stdout
    await server.start()
    print(f"ready {port}", flush=True)
    await server.wait_for_termination()


async def _drive(port: int, calls: int, concurrency: int) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = timeline_service_pb2_grpc.TimelineServiceStub(channel)
        metadata = ((USER_ID_HEADER, "42"),)
        left = calls

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                await stub.Ping(timeline_service_pb2.PingRequest(), metadata=metadata)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def _measure(mode: str, calls: int, concurrency: int) -> tuple[float, float]:
    """(server CPU µs per call, calls per second) for one server mode."""
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.rpc_overhead", "--serve", mode],
        cwd=_REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        ready, _, port_text = server.stdout.readline().strip().partition(" ")
        assert ready == "ready", "server did not start"
        port = int(port_text)
        asyncio.run(_drive(port, min(calls, 500), concurrency))  # warm-up: connections, caches
        before = cpu_seconds({mode: server.pid})[mode]
        start = time.perf_counter()
        asyncio.run(_drive(port, calls, concurrency))
        elapsed = time.perf_counter() - start
        used = cpu_seconds({mode: server.pid})[mode] - before
    finally:
        server.terminate()
        server.wait(timeout=10)
    return used / calls * 1e6, calls / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rpc_overhead", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve", choices=_MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        uvloop.run(_serve(args.serve))  # as services run
        return
    print(f"{args.calls} no-op unary calls, {args.concurrency} at a time, {os.cpu_count()} cores")
    results = {mode: _measure(mode, args.calls, args.concurrency) for mode in _MODES}
    for mode, (cpu_us, rate) in results.items():
        print(f"  {mode:5} server CPU {cpu_us:6.0f} µs/call   {rate:7.0f} calls/s")
    print(f"  the kit's interceptors: {results['kit'][0] - results['bare'][0]:.0f} µs of server CPU per call")


if __name__ == "__main__":
    main()
