"""`python -m stack up` as `make up` runs it: a real supervisor process, stopped by signals."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from stack.settings import REPO_ROOT
from tests.stack.procs import children_of, wait_gone

# NATS, Valkey and both Envoys: every kind of child but the slow-to-stop Typesense and the services (which
# are covered through the Python API with a fake service).
ENV = {"CHIRP_FREE_PORTS": "1", "CHIRP_SERVICES": "none", "CHIRP_INFRA": "nats,valkey"}
UP_LINE = re.compile(rb"Chirp is up: REST API at (http://\S+)")


@asynccontextmanager
async def supervisor(data_dir: Path, **env: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """A running `python -m stack up` and its REST address, once it says it is up."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "stack",
        "up",
        cwd=REPO_ROOT,
        env={**os.environ, **ENV, "CHIRP_DATA_DIR": str(data_dir), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    seen = b""
    try:
        async with asyncio.timeout(30):
            while not (found := UP_LINE.search(seen)):
                line = await process.stdout.readline()
                assert line, f"the supervisor exited before it was up:\n{seen.decode()}"
                seen += line
        yield process, found.group(1).decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_sigterm_stops_everything_and_exits_0(tmp_path: Path) -> None:
    async with supervisor(tmp_path) as (process, edge_url):
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{edge_url}/healthz")).status_code == 200
        children = children_of(process.pid)
        assert len(children) == 4  # nats, valkey, edge, mesh
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    assert await wait_gone(children, 1) == []


async def test_children_die_with_a_killed_supervisor(tmp_path: Path) -> None:
    async with supervisor(tmp_path) as (process, _):
        children = children_of(process.pid)
        assert len(children) == 4
        process.kill()  # no chance to clean up: PR_SET_PDEATHSIG must do it
        await process.wait()
        assert await wait_gone(children, 15) == []


async def test_a_restart_after_sigkill_finds_its_data_dir_usable(tmp_path: Path) -> None:
    async with supervisor(tmp_path) as (process, _):
        children = children_of(process.pid)
        process.kill()
        await process.wait()
        assert await wait_gone(children, 15) == []
    async with supervisor(tmp_path) as (process, _):  # the lock died with its holder
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 30) == 0


async def test_bad_configuration_exits_2_naming_the_variable(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "stack",
        "up",
        cwd=REPO_ROOT,
        env={**os.environ, "CHIRP_DATA_DIR": str(tmp_path), "CHIRP_HTTP_PORT": "eighty"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"CHIRP_HTTP_PORT='eighty': expected an integer" in output


async def test_the_synchronous_api_for_scripts(tmp_path: Path) -> None:
    script = f"""
import socket
from stack import Settings, Stack
settings = Settings(
    data_dir={str(tmp_path)!r}, free_ports=True, infra=frozenset({{"valkey"}}), envoy=False, services=()
)
with Stack(settings) as stack:
    with socket.create_connection(("127.0.0.1", stack.ports.valkey)) as s:
        s.sendall(b"PING\\r\\n")
        print(s.recv(7).decode().strip(), stack.processes["valkey"].pid)
"""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    pong, pid = output.decode().split()
    assert pong == "+PONG"
    assert await wait_gone([int(pid)], 1) == []
