"""`python -m tools.fuzz` (`make fuzz`): the long fuzz run, against a stack of its own or a running one.

    python -m tools.fuzz                          start a stack in a temporary directory, fuzz it, stop it
    python -m tools.fuzz --url URL                fuzz a running stack (e.g. `make up`'s http://127.0.0.1:8080)
    python -m tools.fuzz --cases 300 --seed 7     more random cases per operation, another seed

Exit status 0 when nothing was found; 1 with the findings printed (the full report is in --work-dir).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from stack import Settings, Stack
from tools.fuzz import Budget, Outcome, describe, run

__all__ = ["main"]

# Random cases per operation: with the boundary cases on top, over 10,000 requests (some operations take
# few distinct inputs, and stop short of it).
DEFAULT_CASES = 250

# The stack this command starts: free ports, no rate limit (the fuzzer would spend its time on 429s), and no
# per-address log-in lock: the fuzzer fails thousands of log-ins from the one address it has.
_SERVICE_ENV = {"CHIRP_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000"}


async def _fuzz_own_stack(budget: Budget, work_dir: Path) -> Outcome:
    settings = Settings(
        data_dir=work_dir / "stack",
        free_ports=True,
        rate_limit_per_second=0,
        rate_limit_burst=0,
        service_env=_SERVICE_ENV,
    )
    async with Stack(settings) as stack:
        print(f"fuzz: stack up at {stack.edge_url} (logs in {stack.log_dir})", flush=True)
        return await run(stack.edge_url, budget=budget, work_dir=work_dir / "report")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="the edge of a running stack; without it, a stack of its own is started")
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES, help="random cases per operation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work-dir", type=Path, help="where the reports go (default: a new temporary directory)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the stack's health probes, every second
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="chirp-fuzz-"))
    budget = Budget(cases=args.cases, seed=args.seed)
    print(f"fuzz: {budget.cases} random cases per operation, seed {budget.seed}; reports in {work_dir}", flush=True)
    if args.url:
        outcome = asyncio.run(run(args.url, budget=budget, work_dir=work_dir / "report"))
    else:
        outcome = asyncio.run(_fuzz_own_stack(budget, work_dir))
    if not outcome.ok:
        print(outcome.output, flush=True)
    print("\n".join(f"fuzz: {line}" for line in describe(outcome)), flush=True)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
