"""The compiled validator answers what protovalidate answers, for every request type of the contracts.

Each request type is tried empty and with every field set, one at a time, to values that break common rules
(too short, too long, out of range, malformed, too many items, duplicates); both validators must name the
same field paths. Types the compiled validator hands to protovalidate pass trivially, and are counted so a
regression that hands everything over shows up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chirp  # noqa: F401  (registers nothing itself; the descriptor set below is the source)
import protovalidate
import pytest
from buf.validate import validate_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from services.kit.validation import Validator

_FIELD_RULES: Any = validate_pb2.field
_DESCRIPTOR_SET = Path(__file__).resolve().parents[2] / "gen" / "descriptor.binpb"


def _request_types() -> list[Descriptor]:
    files = descriptor_pb2.FileDescriptorSet.FromString(_DESCRIPTOR_SET.read_bytes())
    names = [
        f"{f.package}.{m.name}"
        for f in files.file
        if f.package.startswith("chirp.")
        for m in f.message_type
        if m.name.endswith("Request")
    ]
    pool = descriptor_pool.Default()
    _import_generated(files)
    return [pool.FindMessageTypeByName(n) for n in sorted(names)]


def _import_generated(files: descriptor_pb2.FileDescriptorSet) -> None:
    import importlib

    for f in files.file:
        if f.package.startswith("chirp."):
            importlib.import_module(f.name.removesuffix(".proto").replace("/", ".") + "_pb2")


_BAD_STRINGS = ["", " ", "x" * 5000, "no spaces!", "a@b", "ü" * 20, "x" * 60]
_BAD_INTS = [0, -1, 1, 101, 10_001, 2**31 - 1]


def _just_too_many(field: FieldDescriptor) -> list[list[int]]:
    """One item more than the field's max_items, when that is small enough for protovalidate to check quickly."""
    options: Any = field.GetOptions()
    rules = options.Extensions[_FIELD_RULES] if options.HasExtension(_FIELD_RULES) else None
    if rules is None or not rules.repeated.HasField("max_items") or rules.repeated.max_items > 600:
        return []
    return [list(range(1, rules.repeated.max_items + 2))]


def _variants(descriptor: Descriptor) -> Iterator[Message]:
    cls = message_factory.GetMessageClass(descriptor)
    yield cls()
    for field in descriptor.fields:
        repeated = field.is_repeated
        if field.type == FieldDescriptor.TYPE_STRING:
            values: list[object] = [[v] for v in _BAD_STRINGS] if repeated else list(_BAD_STRINGS)
        elif field.cpp_type in (FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_INT64):
            values = [[0], [1, 1], list(range(1, 6)), *_just_too_many(field)] if repeated else list(_BAD_INTS)
        elif field.type == FieldDescriptor.TYPE_ENUM and not repeated:
            values = [0, 1, 99]
        else:
            continue
        for value in values:
            message = cls()
            if repeated:
                getattr(message, field.name).extend(value)  # type: ignore[call-overload]
            else:
                try:
                    setattr(message, field.name, value)
                except (ValueError, TypeError):
                    continue
            yield message


REQUEST_TYPES = _request_types()


@pytest.fixture(scope="module")
def reference() -> protovalidate.Validator:
    return protovalidate.Validator()  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("descriptor", REQUEST_TYPES, ids=lambda d: d.full_name)
def test_same_fields_as_protovalidate(descriptor: Descriptor, reference: protovalidate.Validator) -> None:
    from services.kit.interceptors import field_path

    fast = Validator()
    for message in _variants(descriptor):
        expected = sorted({field_path(v.proto) for v in reference.collect_violations(message)})
        got = sorted({path for path, _ in fast.violations(message)})
        assert got == expected, f"{descriptor.full_name} {message}"


def test_almost_every_request_type_is_compiled() -> None:
    fast = Validator()
    handed_over = [d.full_name for d in REQUEST_TYPES if fast._plan(d) is None]
    # Today: custom CEL rules (PATCH /v1/me's update_mask, PATCH /v1/dm_settings), rules on repeated enums
    # (notification type filters) and the raw upload body of POST /v1/media.
    assert len(handed_over) <= 4, handed_over
