"""What /proc says about processes, for tests that must prove nothing was left behind."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from pathlib import Path

from stack.processes import exited

__all__ = ["alive", "children_of", "group_members", "listening_addresses", "wait_gone"]


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
    return raw[raw.rindex(")") + 2 :].split()


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def children_of(pid: int) -> list[int]:
    """Live direct children of `pid`."""
    return [p for p in _pids() if (s := _stat(p)) is not None and s[0] != "Z" and int(s[1]) == pid]


def group_members(pgid: int) -> list[int]:
    """Live processes in process group `pgid`."""
    return [p for p in _pids() if (s := _stat(p)) is not None and s[0] != "Z" and int(s[2]) == pgid]


async def wait_gone(pids: Iterable[int | None], within: float) -> list[int]:
    """Wait up to `within` seconds until every pid has exited; return those still alive."""
    known = [p for p in pids if p is not None]
    try:
        async with asyncio.timeout(within):
            await asyncio.gather(*(exited(p) for p in known))
    except TimeoutError:
        pass
    return [p for p in known if alive(p)]


def listening_addresses(port: int) -> set[str]:
    """The IPv4/IPv6 addresses (hex, as in /proc/net/tcp*) listening on TCP `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found
