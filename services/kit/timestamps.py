"""Conversions between Unix seconds (what the stores keep) and google.protobuf.Timestamp (what contracts carry)."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

__all__ = ["to_timestamp"]


def to_timestamp(seconds: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(round(seconds * 1e9))
    return ts
