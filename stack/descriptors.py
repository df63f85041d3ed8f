"""What the edge needs to know from the protobuf descriptor set (`gen/descriptor.binpb`).

The transcoder refuses to start when it is told to serve a service the descriptor set does not hold, and a
server-streaming RPC needs a route without a response deadline. Both facts come from the descriptor set, so
the Envoy generator asks this module instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from google.protobuf import descriptor_pb2

__all__ = ["DescriptorInfo", "load", "placeholder"]


class DescriptorInfo:
    """The services and server-streaming methods a descriptor set declares."""

    def __init__(self, files: descriptor_pb2.FileDescriptorSet) -> None:
        self.services: frozenset[str] = frozenset(
            f"{_prefix(f.package)}{s.name}" for f in files.file for s in f.service
        )
        # Full gRPC paths ("/pkg.Service/Method") of every RPC whose response is a stream.
        self.streaming_paths: frozenset[str] = frozenset(
            f"/{_prefix(f.package)}{s.name}/{m.name}"
            for f in files.file
            for s in f.service
            for m in s.method
            if m.server_streaming
        )

    def streaming_paths_of(self, services: Iterable[str]) -> tuple[str, ...]:
        """The server-streaming paths of `services`, sorted (stable output for the rendered configs)."""
        wanted = tuple(f"/{s}/" for s in services)
        return tuple(sorted(p for p in self.streaming_paths if p.startswith(wanted)))


def load(path: Path) -> DescriptorInfo:
    """Parse the FileDescriptorSet at `path`. Raises OSError or google.protobuf's DecodeError."""
    files = descriptor_pb2.FileDescriptorSet()
    files.ParseFromString(path.read_bytes())
    return DescriptorInfo(files)


def placeholder(services: Iterable[str]) -> bytes:
    """A descriptor set declaring each fully qualified service with no methods.

    Used when `gen/descriptor.binpb` has not been generated yet: the edge can then start (and answer 404 on
    every REST path) instead of refusing its configuration.
    """
    files = descriptor_pb2.FileDescriptorSet()
    for index, full_name in enumerate(sorted(set(services))):
        package, _, name = full_name.rpartition(".")
        f = files.file.add(name=f"chirp_placeholder_{index}.proto", package=package, syntax="proto3")
        f.service.add(name=name)
    return files.SerializeToString()


def _prefix(package: str) -> str:
    return f"{package}." if package else ""
