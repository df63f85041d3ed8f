"""One child process of the stack: its own process group, its own log file, and it dies with the supervisor.

Children get PR_SET_PDEATHSIG, so the kernel sends them SIGTERM when the supervisor dies, even by SIGKILL.
The signal follows the *thread* that forked the child: start processes from a thread that lives as long as
the stack (the event loop's thread), never from a short-lived worker thread.

The death signal is set by util-linux's `setpriv --pdeathsig`, which then executes the command, rather than by a
`preexec_fn` calling prctl: without a preexec_fn, subprocess starts the child with vfork, which runs no fork
handlers. grpcio installs fork handlers that wait for gRPC's threads to go quiet, and a fork made while the
supervisor's own health probes were using gRPC hung its event loop for good. Where setpriv is missing, the
preexec_fn is the fallback.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = ["Process", "exited"]

_PR_SET_PDEATHSIG = 1
# Resolved before any fork: the child may only call async-signal-safe code between fork and exec.
_prctl = ctypes.CDLL(None, use_errno=True).prctl
_prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


_SETPRIV = shutil.which("setpriv")


def _die_with(parent: int) -> Callable[[], None]:
    def preexec() -> None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            # The supervisor died between fork and prctl; nobody would ever stop us.
            os._exit(1)

    return preexec


async def exited(pid: int) -> None:
    """Return once process `pid` (any process, not only a child) has terminated."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def readable() -> None:
        if not done.done():
            done.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
        os.close(fd)


class Process:
    """A named child process writing stdout and stderr to `log_path`."""

    def __init__(self, name: str, argv: Sequence[str], *, log_path: Path, env: Mapping[str, str], cwd: Path) -> None:
        self.name = name
        self.argv = tuple(argv)
        self.log_path = log_path
        self.env = dict(env)
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None
        self._log_start = 0
        self.started_at = 0.0  # time.monotonic() of the last start
        # Set by `stop()`: the process was asked to end, so its exit is not a crash to restart after.
        self.stopping = False

    def __repr__(self) -> str:
        return f"<Process {self.name} pid={self.pid} returncode={self.returncode}>"

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has exited (and been reaped), else None."""
        return self._popen.poll() if self._popen else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> None:
        """Start the process (again, after it exited: the log is appended to, not truncated)."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.stopping = False
        self.started_at = time.monotonic()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._log_start = log.tell()
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"=== {stamp} {self.name}: {' '.join(self.argv)}\n".encode())
            log.flush()
            if _SETPRIV is not None:
                argv, preexec = [_SETPRIV, "--pdeathsig", "TERM", "--", *self.argv], None
            else:
                argv, preexec = list(self.argv), _die_with(os.getpid())
            self._popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                # Own group: a terminal's Ctrl-C reaches only the supervisor, which stops children in order.
                process_group=0,
                preexec_fn=preexec,
            )

    async def wait(self) -> None:
        """Wait until the process has exited (without reaping it: see `returncode`)."""
        if self._popen is None or self._popen.returncode is not None:
            return
        await exited(self._popen.pid)

    async def stop(self, grace: float) -> int | None:
        """SIGTERM the process group, SIGKILL it after `grace` seconds; return the exit status."""
        self.stopping = True
        if self._popen is None:
            return None
        pgid = self._popen.pid
        if self._popen.returncode is None:
            self._signal_group(pgid, signal.SIGTERM)
            try:
                async with asyncio.timeout(grace):
                    await self.wait()
            except TimeoutError:
                self._signal_group(pgid, signal.SIGKILL)
                await self.wait()
        # The leader is a zombie until reaped, so its group id cannot have been reused: kill any straggler.
        self._signal_group(pgid, signal.SIGKILL)
        return self._popen.wait()

    def reap(self) -> int | None:
        """After the process exited by itself: kill what is left of its group, collect and return its status."""
        if self._popen is None:
            return None
        self._signal_group(self._popen.pid, signal.SIGKILL)
        return self._popen.wait()

    def tail(self, lines: int = 30) -> str:
        """The last `lines` lines this run wrote to its log."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_start)
                text = log.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
