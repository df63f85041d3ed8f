"""CPU time per process of the stack (and of the generator itself), from /proc: where the two cores went."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path

__all__ = ["cpu_seconds", "spent"]

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user+system seconds) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def cpu_seconds(pids: Mapping[str, int], *, alone: Collection[str] = ()) -> dict[str, float]:
    """CPU seconds used so far by each named process together with its descendants (a wrapper's server).

    Processes named in `alone` count without descendants: the benchmark's own, whose children are the stack.
    """
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                children.setdefault(stat[0], []).append(int(entry.name))
                times[int(entry.name)] = stat[1]
    out: dict[str, float] = {}
    for name, pid in pids.items():
        total, todo = 0.0, [pid]
        while todo:
            p = todo.pop()
            total += times.get(p, 0.0)
            if name not in alone:
                todo += children.get(p, [])
        out[name] = total
    return out


def spent(before: Mapping[str, float], after: Mapping[str, float], seconds: float) -> dict[str, float]:
    """Cores used by each process between two snapshots (1.0 = one core busy all the time), busiest first."""
    use = {name: (after[name] - before.get(name, 0.0)) / seconds for name in after}
    return dict(sorted(use.items(), key=lambda kv: -kv[1]))
