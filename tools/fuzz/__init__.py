"""Fuzz the REST API through the Envoy edge with Schemathesis, from the contracts' OpenAPI description.

    python -m tools.fuzz                           start a stack of its own and fuzz it (`make fuzz`)
    python -m tools.fuzz --url http://127.0.0.1:8080   fuzz a running stack (`make up`)

The test suite runs a short fuzz against its session stack (tests/e2e/test_fuzz.py); `make fuzz` a long one.

Every operation of the API gets boundary cases (Schemathesis's coverage phase) and random ones (its fuzzing
phase), valid and invalid, as a signed-up user (tools/fuzz/hooks.py), and every answer is checked (CHECKS):
no 5xx, a status, content type and body the description allows, 4xx for a request it forbids, and 401 for a
route that needs a token when it is left out. The description fuzzed is the lenient variant of
gen/openapi.json (tools/openapi/), whose request schemas take every form the edge parses, so that a request
it forbids is one the edge must refuse. The exceptions are in tools/fuzz/schemathesis.toml: the media service,
not built yet, answers 501.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import descriptor_pb2

from tools import gen, openapi
from tools.fuzz.garble import SPEC_ENV

__all__ = [
    "CHECKS",
    "CONFIG_PATH",
    "HOOKS",
    "SPEC_ENV",
    "Budget",
    "Outcome",
    "command",
    "describe",
    "environment",
    "run",
    "write_spec",
]

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
    "edge_accepts_the_token",  # tools/fuzz/hooks.py
)
HOOKS = "tools.fuzz.hooks"
CONFIG_PATH = Path(__file__).with_name("schemathesis.toml")
_JSON_REPORT = "report.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    """How much to fuzz. `cases` bounds the random cases per operation; the boundary cases come on top."""

    cases: int
    seed: int = 1
    # One: Hypothesis describes strategies with Python's ast module, which CPython 3.11 cannot run in two
    # threads at once ("AST constructor recursion depth mismatch"); and the machine is small anyway.
    workers: int = 1
    request_timeout: float = 20.0


@dataclass(frozen=True, slots=True)
class Outcome:
    returncode: int
    cases: int  # requests sent, with checks
    failures: int  # distinct failures found
    failed: dict[str, list[str]]  # failure title -> operations
    errors: list[str]
    operations: int  # operations tested
    seconds: float
    output: str = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.failures and not self.errors


def write_spec(directory: Path) -> Path:
    """Write the lenient description, built from gen/'s descriptor set, into `directory`; return its path."""
    files = descriptor_pb2.FileDescriptorSet.FromString((gen.GEN / gen.DESCRIPTOR_NAME).read_bytes())
    path = directory / "openapi-lenient.json"
    path.write_text(openapi.render(openapi.build(files, lenient_requests=True)), encoding="utf-8")
    return path


def command(url: str, spec: Path, *, budget: Budget, report_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG_PATH),
        "run",
        str(spec),
        "--url",
        url,
        "--checks",
        ",".join(CHECKS),
        "--phases",
        "coverage,fuzzing",
        "--mode",
        "all",
        "--max-examples",
        str(budget.cases),
        "--seed",
        str(budget.seed),
        "--workers",
        str(budget.workers),
        "--request-timeout",
        str(budget.request_timeout),
        # The edge is on loopback and answers in milliseconds; a slow answer is the machine, not a bug.
        "--suppress-health-check",
        "too_slow",
        "--no-color",
        "--output-truncate",
        "false",
        # Show the requests as they were: a `page_token` full of bytes that are not UTF-8 is the finding, and
        # the only credential is the throwaway user's access token.
        "--output-sanitize",
        "false",
        "--report",
        "json",
        "--report-json-path",
        str(report_dir / _JSON_REPORT),
        "--report-dir",
        str(report_dir),
    ]


def environment(spec: Path) -> dict[str, str]:
    root = str(gen.ROOT)
    path = os.environ.get("PYTHONPATH", "")
    return {
        **os.environ,
        "SCHEMATHESIS_HOOKS": HOOKS,
        SPEC_ENV: str(spec),
        # The hooks are imported by module name, from the repository (tools/ is not an installed package).
        "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root,
    }


async def run(url: str, *, budget: Budget, work_dir: Path) -> Outcome:
    """Fuzz the edge at `url`; the lenient description and the reports go to `work_dir`."""
    spec = _prepare(work_dir)
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *command(url, spec, budget=budget, report_dir=work_dir),
        env=environment(spec),
        # Its caches (the crashes `st replay` reads) go beside the reports, not into the repository.
        cwd=work_dir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        stdout, _ = await process.communicate()
    finally:
        if process.returncode is None:  # cancelled: do not leave the fuzzer running
            process.kill()
            await process.wait()
    output = stdout.decode("utf-8", "replace")
    return _outcome(work_dir, process.returncode or 0, time.monotonic() - started, output)


def _prepare(work_dir: Path) -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    return write_spec(work_dir)


def _outcome(work_dir: Path, returncode: int, seconds: float, output: str) -> Outcome:
    """What the run's JSON report says."""
    path = work_dir / _JSON_REPORT
    if not path.is_file():
        return Outcome(returncode or 1, 0, 0, {}, ["no report: the fuzzer did not run"], 0, seconds, output)
    report = json.loads(path.read_text(encoding="utf-8"))
    cases = report["test_cases"]
    return Outcome(
        returncode=returncode,
        cases=cases["generated"],
        failures=cases["unique_failures"],
        failed={f"{f['code']} {f['title']}": f["operations"] for f in report["failures"]},
        errors=[f"{e['title']} ({e['count']})" for e in report["errors"]],
        operations=(report["operations"] or {}).get("tested", 0),
        seconds=seconds,
        output=output,
    )


def describe(outcome: Outcome) -> Sequence[str]:
    """The lines to print about a run."""
    lines = [
        f"{outcome.cases} cases on {outcome.operations} operations in {outcome.seconds:.0f} s: "
        f"{outcome.failures} distinct failures, {len(outcome.errors)} errors",
    ]
    lines += [f"  {title}: {', '.join(operations)}" for title, operations in outcome.failed.items()]
    lines += [f"  error: {error}" for error in outcome.errors]
    return lines
