"""Where the services spend their time under load: py-spy samples of running processes, summarized.

py-spy attaches to a running process from outside (ptrace), so the services run unmodified. A summary lists
the functions with the largest share of samples, inclusive of what they call, leaving out the frames every
stack shares (the event loop, runpy), and the largest self time.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

__all__ = ["available", "record", "summarize"]

_SITE = re.compile(r"\s*\((?:/[^()]*/site-packages/|/[^()]*/lib/python3\.\d+/)")
_LINE = re.compile(r":\d+\)$")
# Frames every sample has: they say nothing about where the time goes.
_BORING = re.compile(
    r"^(_run_module_as_main|_run_code|<module>|run |Runner\.run|BaseEventLoop|Thread\.(_bootstrap|run))"
)


def _py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def available() -> bool:
    return _py_spy() is not None


async def record(pid: int, seconds: float, out: Path, *, rate: int = 100) -> bool:
    """Sample process `pid` for `seconds` into `out` (collapsed stacks); False if py-spy is missing or failed."""
    exe = _py_spy()
    if exe is None:
        return False
    proc = await asyncio.create_subprocess_exec(
        exe, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate", str(rate),
        "--format", "raw", "--output", str(out), "--nonblocking",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    if proc.returncode != 0:
        print(f"  py-spy on pid {pid} failed: {err.decode(errors='replace').strip()[-300:]}", file=sys.stderr)
    return proc.returncode == 0


def _frame(raw: str) -> str:
    return _LINE.sub(")", _SITE.sub(" (", raw.replace(str(Path.cwd()) + "/", "")))


def summarize(collapsed: str, *, top: int = 25) -> str:
    """The `top` functions by inclusive share of samples, and the top by self share, as text."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";")]
        for f in set(frames):
            inclusive[f] += n
        own[frames[-1]] += n
    if not total:
        return "no samples\n"
    lines = [f"{total} samples; inclusive share (the function and what it calls):"]
    shown = [(f, n) for f, n in inclusive.most_common() if not _BORING.match(f)][:top]
    lines += [f"  {100 * n / total:5.1f}%  {f[:140]}" for f, n in shown]
    lines.append("self share (the function's own code):")
    lines += [f"  {100 * n / total:5.1f}%  {f[:140]}" for f, n in own.most_common(top // 2)]
    return "\n".join(lines) + "\n"
