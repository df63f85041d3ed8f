"""Generate `gen/` from `proto/`: the one command behind `make gen` and the drift check of `make test`.

    python -m tools.gen              buf lint, then regenerate gen/
    python -m tools.gen --check      buf lint, then fail if gen/ (or the vendored googleapis protos) is stale
    python -m tools.gen --lint-only  buf lint only

What it writes into gen/ (a package root: `import chirp.tweet.v1.tweet_service_pb2_grpc`):
- `_pb2.py`, `_pb2_grpc.py` and `.pyi` for every proto under proto/chirp/, and for
  third_party/buf/validate/validate.proto (protovalidate imports `buf.validate.validate_pb2`, which its
  wheel does not ship); google/api and google/rpc come from googleapis-common-protos at run time;
- an empty `__init__.py` in every generated package;
- `descriptor.binpb`, the FileDescriptorSet (imports included, source info excluded) that Envoy's
  grpc_json_transcoder loads;
- `openapi.json`, the OpenAPI 3.1 description of the REST API (tools/openapi/), from a second descriptor set
  built with source info (the comments become its descriptions) and not kept.

Generation goes to a temporary directory first; gen/ is then updated file by file (only files whose bytes
changed are rewritten, stale files are removed), so the output is deterministic and mtimes stay stable.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.resources
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2

from tools import openapi, vendor

__all__ = [
    "DESCRIPTOR_NAME",
    "GEN",
    "Drift",
    "compare",
    "descriptor_set_with_comments",
    "generate",
    "lint",
    "main",
    "proto_files",
    "sync",
]

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "proto"
GEN = ROOT / "gen"
DESCRIPTOR_NAME = "descriptor.binpb"
# Vendored files that also need Python modules (relative to third_party/).
EXTRA_PYTHON = (vendor.VALIDATE_FILE,)
# Left alone when comparing and syncing gen/: byte-code caches are not generated output.
IGNORED_PARTS = frozenset({"__pycache__"})


@dataclass(frozen=True, slots=True)
class Drift:
    """How gen/ differs from freshly generated output (paths relative to gen/)."""

    changed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changed or self.missing or self.extra)

    def lines(self) -> list[str]:
        """One line per stale file, e.g. `  changed: gen/chirp/tweet/v1/tweet_pb2.py`."""
        return [
            f"  {kind}: gen/{path}"
            for kind, paths in (("changed", self.changed), ("missing", self.missing), ("extra", self.extra))
            for path in paths
        ]


def _say(message: str) -> None:
    print(f"gen: {message}", flush=True)


def _buf() -> str:
    """The buf binary of this virtualenv (buf-bin), else the one on PATH."""
    local = Path(sys.executable).parent / "buf"
    if local.is_file():
        return str(local)
    found = shutil.which("buf")
    if found is None:
        raise SystemExit("gen: buf not found; run `make venv` (it installs buf-bin)")
    return found


def _run(args: Sequence[str]) -> None:
    result = subprocess.run(args, cwd=ROOT, check=False)
    if result.returncode != 0:
        command = " ".join(Path(arg).name if i == 0 else arg for i, arg in enumerate(args[:3]))
        raise SystemExit(f"gen: `{command} ...` failed (exit {result.returncode})")


def proto_files() -> list[Path]:
    """Every contract under proto/chirp/, sorted (whichever domains exist)."""
    return sorted((PROTO / "chirp").rglob("*.proto"))


def lint() -> None:
    """Run `buf lint` over the workspace (buf.yaml); exits on any finding."""
    _say("buf lint")
    _run([_buf(), "lint"])


def _generate_python(out: Path) -> None:
    sources = [*proto_files(), *(vendor.THIRD_PARTY / name for name in EXTRA_PYTHON)]
    _say(f"protoc: {len(sources)} files -> _pb2.py, _pb2_grpc.py, .pyi")
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    _run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={PROTO}",
            f"--proto_path={vendor.THIRD_PARTY}",
            f"--proto_path={well_known}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            f"--pyi_out={out}",
            *(str(path) for path in sources),
        ]
    )


def _add_init_files(out: Path) -> None:
    packages = {path.parent for path in out.rglob("*.py")}
    for package in sorted(packages):
        while package != out:
            (package / "__init__.py").touch()
            package = package.parent


def _build_descriptor_set(output: Path, *, source_info: bool) -> None:
    _run(
        [
            _buf(),
            "build",
            "--as-file-descriptor-set",
            *([] if source_info else ["--exclude-source-info"]),
            "--output",
            str(output),
        ]
    )


def _generate_descriptor(out: Path) -> None:
    _say(f"buf build -> {DESCRIPTOR_NAME}")
    _build_descriptor_set(out / DESCRIPTOR_NAME, source_info=False)


def descriptor_set_with_comments() -> descriptor_pb2.FileDescriptorSet:
    """The workspace's FileDescriptorSet with source info (comments), built afresh; not written to gen/."""
    with tempfile.TemporaryDirectory(prefix="chirp-gen-source-") as tmp:
        path = Path(tmp) / "with-source-info.binpb"
        _build_descriptor_set(path, source_info=True)
        return descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())


def _generate_openapi(out: Path) -> None:
    _say(f"buf build (with comments) -> {openapi.OPENAPI_NAME}")
    document = openapi.build(descriptor_set_with_comments())
    (out / openapi.OPENAPI_NAME).write_text(openapi.render(document), encoding="utf-8")


def generate(out: Path) -> None:
    """Write the complete gen/ tree into the empty directory `out`."""
    _generate_python(out)
    _add_init_files(out)
    _generate_descriptor(out)
    _generate_openapi(out)


def _files(root: Path) -> set[str]:
    if not root.is_dir():
        return set()
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and IGNORED_PARTS.isdisjoint(path.relative_to(root).parts)
    }


def compare(fresh: Path, current: Path) -> Drift:
    """How `current` differs from the freshly generated tree `fresh`."""
    new, old = _files(fresh), _files(current)
    both = sorted(new & old)
    return Drift(
        changed=tuple(p for p in both if not filecmp.cmp(fresh / p, current / p, shallow=False)),
        missing=tuple(sorted(new - old)),
        extra=tuple(sorted(old - new)),
    )


def sync(fresh: Path, current: Path) -> Drift:
    """Make `current` equal to `fresh`, touching only files that differ; returns what was changed."""
    drift = compare(fresh, current)
    for path in (*drift.changed, *drift.missing):
        target = current / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(fresh / path, target)
    for path in drift.extra:
        (current / path).unlink()
    for directory in sorted((d for d in current.rglob("*") if d.is_dir()), reverse=True):
        if not any(p for p in directory.iterdir() if p.name not in IGNORED_PARTS):
            shutil.rmtree(directory)
    return drift


def _check() -> int:
    stale_vendor = vendor.googleapis_drift()
    with tempfile.TemporaryDirectory(prefix="chirp-gen-") as tmp:
        generate(Path(tmp))
        drift = compare(Path(tmp), GEN)
    if not drift and not stale_vendor:
        _say("gen/ is up to date")
        return 0
    if stale_vendor:
        print("gen: third_party/ differs from googleapis-common-protos; run `python -m tools.vendor`:")
        print("\n".join(f"  changed: third_party/{name}" for name in stale_vendor))
    if drift:
        print("gen: gen/ is stale; run `make gen` and commit the result:")
        print("\n".join(drift.lines()))
    return 1


def _write() -> int:
    with tempfile.TemporaryDirectory(prefix="chirp-gen-") as tmp:
        generate(Path(tmp))
        GEN.mkdir(exist_ok=True)
        drift = sync(Path(tmp), GEN)
    for line in drift.lines():
        _say(line.strip())
    _say(f"gen/ updated ({len(drift.lines())} files changed)" if drift else "gen/ already up to date")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gen", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail if gen/ is stale instead of rewriting it")
    mode.add_argument("--lint-only", action="store_true", help="run buf lint only")
    args = parser.parse_args(argv)
    lint()
    if args.lint_only:
        return 0
    return _check() if args.check else _write()


if __name__ == "__main__":
    raise SystemExit(main())
