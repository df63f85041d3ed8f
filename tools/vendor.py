"""(Re)create `third_party/`: the .proto files our contracts import but do not own.

    python -m tools.vendor           copy them from the pinned packages into third_party/
    python -m tools.vendor --check   fail if the googleapis copies differ from the installed package (offline)

- `google/api/*.proto` and `google/rpc/*.proto` come from the installed googleapis-common-protos (its wheel
  ships the sources next to the generated modules, which we use at run time).
- `buf/validate/validate.proto` ships only in the protovalidate *sdist* (`upstream/proto/`), so it is fetched
  with `pip download --no-binary` for the installed protovalidate version. The Python modules generated from
  it land in gen/ (the protovalidate wheel imports `buf.validate.validate_pb2` but does not ship it).

Files are copied byte for byte, license headers included.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

__all__ = ["GOOGLEAPIS_FILES", "THIRD_PARTY", "VALIDATE_FILE", "googleapis_drift", "main", "vendor"]

ROOT = Path(__file__).resolve().parent.parent
THIRD_PARTY = ROOT / "third_party"

# Imported by our contracts (api), or needed in the Envoy descriptor set to render error details (rpc).
GOOGLEAPIS_FILES = (
    "google/api/annotations.proto",
    "google/api/field_behavior.proto",
    "google/api/http.proto",
    "google/api/httpbody.proto",
    "google/rpc/code.proto",
    "google/rpc/error_details.proto",
    "google/rpc/status.proto",
)
VALIDATE_FILE = "buf/validate/validate.proto"


def _googleapis_root() -> Path:
    """The site-packages directory that holds googleapis-common-protos' `google/` tree."""
    spec = importlib.util.find_spec("google.api.annotations_pb2")
    if spec is None or spec.origin is None:
        raise SystemExit("vendor: googleapis-common-protos is not installed (run `make venv`)")
    return Path(spec.origin).resolve().parent.parent.parent


def _copy_googleapis() -> None:
    source = _googleapis_root()
    version = importlib.metadata.version("googleapis-common-protos")
    for name in GOOGLEAPIS_FILES:
        target = THIRD_PARTY / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((source / name).read_bytes())
        print(f"vendor: {name} (googleapis-common-protos {version})")


def _copy_validate() -> None:
    version = importlib.metadata.version("protovalidate")
    member = f"protovalidate-{version}/upstream/proto/{VALIDATE_FILE}"
    with tempfile.TemporaryDirectory() as tmp:
        print(f"vendor: pip download protovalidate=={version} (sdist)")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"protovalidate=={version}",
                "--dest",
                tmp,
            ],
            check=True,
        )
        sdist = Path(tmp) / f"protovalidate-{version}.tar.gz"
        with tarfile.open(sdist) as archive:
            extracted = archive.extractfile(member)
            if extracted is None:
                raise SystemExit(f"vendor: {member} not found in {sdist.name}")
            data = extracted.read()
    target = THIRD_PARTY / VALIDATE_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    print(f"vendor: {VALIDATE_FILE} (protovalidate {version} sdist)")


def vendor() -> None:
    """Copy every vendored file into third_party/ from the pinned packages."""
    _copy_googleapis()
    _copy_validate()


def googleapis_drift() -> list[str]:
    """The vendored googleapis files that are missing or differ from the installed package."""
    source = _googleapis_root()
    return [name for name in GOOGLEAPIS_FILES if not _same(THIRD_PARTY / name, source / name)]


def _same(vendored: Path, original: Path) -> bool:
    return vendored.is_file() and vendored.read_bytes() == original.read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.vendor", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify the googleapis copies (offline)")
    args = parser.parse_args(argv)
    if args.check:
        stale = googleapis_drift()
        for name in stale:
            print(f"vendor: third_party/{name} differs from the installed googleapis-common-protos")
        return 1 if stale else 0
    vendor()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
