"""Request validation from the contracts' protovalidate rules, compiled to plain Python checks.

protovalidate-python evaluates every rule as CEL through cel-python, which costs milliseconds per message and
tens of milliseconds for a batch of ids (measured on this 2-core machine: 3 ms of CPU for a home-timeline
request, 58 ms for a 20-id BatchGetTweetsRequest) — more than the whole budget of a read. The rules our
contracts use are the standard ones (lengths, patterns, bounds, item counts, required fields and oneofs), so
each message type is compiled once into a list of small Python checks with the same meaning. A message type
whose rules go beyond them (custom CEL, well-known formats other than email, maps, ...) is left to
protovalidate itself, so nothing is ever checked less than the contract says. tests/kit/test_validation_parity.py
holds the two to the same answers on every request type of the contracts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, cast

import re2
from buf.validate import validate_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

__all__ = ["Validator", "Violation"]

Violation = tuple[str, str]  # (field path, what is wrong in words)
Check = Callable[[Message, str], Iterable[Violation]]

# The WHATWG definition of a valid email address, which protovalidate's `string.email` follows.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_STRING_RULES = {"const", "len", "min_len", "max_len", "len_bytes", "min_bytes", "max_bytes", "pattern", "prefix",
                 "suffix", "contains", "not_contains", "in", "not_in", "email"}  # fmt: skip
_NUMBER_RULES = {"const", "lt", "lte", "gt", "gte", "in", "not_in"}
_NUMBER_TYPES = {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32",
                 "sfixed64", "float", "double"}  # fmt: skip
# The generated extension handles, typed loosely: the protobuf stubs cannot express their option types.
_FIELD_RULES: Any = validate_pb2.field
_ONEOF_RULES: Any = validate_pb2.oneof
_MESSAGE_RULES: Any = validate_pb2.message
_IGNORE_IF_ZERO = validate_pb2.IGNORE_IF_ZERO_VALUE
_IGNORE_ALWAYS = validate_pb2.IGNORE_ALWAYS


class _Unsupported(Exception):
    """The message type uses a rule this module does not compile; protovalidate checks it instead."""


class Validator:
    """Validates messages against their protovalidate rules; one instance per process, plans cached by type."""

    def __init__(self) -> None:
        self._plans: dict[str, list[Check] | None] = {}
        self._fallback: Any = None

    def violations(self, message: Message) -> list[Violation]:
        plan = self._plan(cast(Descriptor, message.DESCRIPTOR))
        if plan is None:
            return self._protovalidate(message)
        return [v for check in plan for v in check(message, "")]

    def _plan(self, descriptor: Descriptor) -> list[Check] | None:
        name = descriptor.full_name
        if name not in self._plans:
            self._plans[name] = None  # a recursive type is handled by protovalidate rather than loop here
            try:
                self._plans[name] = _compile_message(descriptor, self)
            except _Unsupported:
                self._plans[name] = None
        return self._plans[name]

    def _protovalidate(self, message: Message) -> list[Violation]:
        if self._fallback is None:
            import protovalidate  # slow to import and to run; only for the few types that need it

            self._fallback = protovalidate.Validator()  # type: ignore[no-untyped-call]
        from services.kit.interceptors import field_path

        return [(field_path(v.proto), v.proto.message) for v in self._fallback.collect_violations(message)]


def _compile_message(descriptor: Descriptor, validator: Validator) -> list[Check]:
    options = descriptor.GetOptions()
    if options.HasExtension(_MESSAGE_RULES):
        rules = options.Extensions[_MESSAGE_RULES]
        if rules.cel or rules.cel_expression or rules.oneof:
            raise _Unsupported(descriptor.full_name)
    checks: list[Check] = []
    for oneof in descriptor.oneofs:
        oneof_options = oneof.GetOptions()
        if oneof_options.HasExtension(_ONEOF_RULES) and oneof_options.Extensions[_ONEOF_RULES].required:
            checks.append(_oneof_required(oneof.name))
    for field in descriptor.fields:
        check = _compile_field(field, validator)
        if check is not None:
            checks.append(check)
    return checks


def _oneof_required(name: str) -> Check:
    def check(message: Message, prefix: str) -> Iterable[Violation]:
        if message.WhichOneof(name) is None:
            yield (prefix + name, "exactly one field is required in oneof")

    return check


def _compile_field(field: FieldDescriptor, validator: Validator) -> Check | None:
    options = field.GetOptions()
    rules: validate_pb2.FieldRules | None = (
        options.Extensions[_FIELD_RULES] if options.HasExtension(_FIELD_RULES) else None
    )
    nested = field.message_type is not None and not _is_map(field)
    if rules is None:
        if nested and not cast(Descriptor, field.message_type).full_name.startswith("google.protobuf."):
            return _nested(field, validator)
        return None
    if rules.cel or rules.cel_expression:
        raise _Unsupported(field.full_name)
    if rules.ignore == _IGNORE_ALWAYS:
        return None
    kind = rules.WhichOneof("type")
    is_repeated = field.is_repeated
    if is_repeated:
        if _is_map(field) or kind not in (None, "repeated"):
            raise _Unsupported(field.full_name)
        value_check = _repeated(rules.repeated) if kind == "repeated" else None
    elif kind is None:
        value_check = None
    elif kind == "string":
        value_check = _string(rules.string)
    elif kind in _NUMBER_TYPES:
        value_check = _number(getattr(rules, kind))
    elif kind == "enum":
        value_check = _enum(rules.enum, field)
    else:
        raise _Unsupported(f"{field.full_name}: {kind}")
    has_presence = field.has_presence
    name = field.name
    required = rules.required
    ignore_zero = rules.ignore == _IGNORE_IF_ZERO
    deeper = _nested(field, validator) if nested else None

    def check(message: Message, prefix: str) -> Iterable[Violation]:
        path = prefix + name
        if is_repeated:
            values = getattr(message, name)
            if required and not values:
                yield (path, "value is required")
                return
            if value_check is not None:
                yield from value_check(values, path)
            return
        present = message.HasField(name) if has_presence else getattr(message, name) != field.default_value
        if not present and required:
            yield (path, "value is required")
            return
        if (has_presence or ignore_zero) and not present:
            return
        if value_check is not None:
            yield from value_check(getattr(message, name), path)
        if deeper is not None:
            yield from deeper(message, prefix)

    return check


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _nested(field: FieldDescriptor, validator: Validator) -> Check | None:
    """Validate a message-typed field's own rules when it is set (protovalidate recurses the same way)."""
    plan = validator._plan(cast(Descriptor, field.message_type))
    if plan is None:
        raise _Unsupported(field.full_name)
    if not plan:
        return None
    name = field.name
    if field.is_repeated:

        def each(message: Message, prefix: str) -> Iterable[Violation]:
            for index, item in enumerate(getattr(message, name)):
                for inner in plan:
                    yield from inner(item, f"{prefix}{name}[{index}].")

        return each

    def one(message: Message, prefix: str) -> Iterable[Violation]:
        if message.HasField(name):
            for inner in plan:
                yield from inner(getattr(message, name), f"{prefix}{name}.")

    return one


ValueCheck = Callable[[Any, str], Iterable[Violation]]


def _used(rules: Message, allowed: set[str], what: str) -> None:
    for described, _ in rules.ListFields():
        if described.name not in allowed and described.name != "example":
            raise _Unsupported(f"{what}.{described.name}")


def _string(rules: validate_pb2.StringRules) -> ValueCheck:
    _used(rules, _STRING_RULES, "string")
    tests: list[tuple[Callable[[str], bool], str]] = []
    if rules.HasField("const"):
        tests.append((lambda v: v == rules.const, f"value must equal `{rules.const}`"))
    if rules.HasField("len"):
        tests.append((lambda v: len(v) == rules.len, f"value length must be {rules.len} characters"))
    if rules.HasField("min_len"):
        tests.append((lambda v: len(v) >= rules.min_len, f"value length must be at least {rules.min_len} characters"))
    if rules.HasField("max_len"):
        tests.append((lambda v: len(v) <= rules.max_len, f"value length must be at most {rules.max_len} characters"))
    if rules.HasField("len_bytes"):
        tests.append((lambda v: len(v.encode()) == rules.len_bytes, f"value length must be {rules.len_bytes} bytes"))
    if rules.HasField("min_bytes"):
        tests.append((lambda v: len(v.encode()) >= rules.min_bytes, f"value length must be at least {rules.min_bytes} bytes"))  # noqa: E501
    if rules.HasField("max_bytes"):
        tests.append((lambda v: len(v.encode()) <= rules.max_bytes, f"value length must be at most {rules.max_bytes} bytes"))  # noqa: E501
    if rules.HasField("pattern"):
        pattern = re2.compile(rules.pattern)
        tests.append((lambda v: pattern.search(v) is not None, f"value does not match regex pattern `{rules.pattern}`"))
    if rules.HasField("prefix"):
        tests.append((lambda v: v.startswith(rules.prefix), f"value does not have prefix `{rules.prefix}`"))
    if rules.HasField("suffix"):
        tests.append((lambda v: v.endswith(rules.suffix), f"value does not have suffix `{rules.suffix}`"))
    if rules.HasField("contains"):
        tests.append((lambda v: rules.contains in v, f"value does not contain substring `{rules.contains}`"))
    if rules.HasField("not_contains"):
        tests.append((lambda v: rules.not_contains not in v, f"value contains substring `{rules.not_contains}`"))
    if getattr(rules, "in"):
        allowed = set(getattr(rules, "in"))
        tests.append((lambda v: v in allowed, f"value must be in list {sorted(allowed)}"))
    if rules.not_in:
        refused = set(rules.not_in)
        tests.append((lambda v: v not in refused, f"value must not be in list {sorted(refused)}"))
    if rules.email:
        tests.append((lambda v: _EMAIL.fullmatch(v) is not None, "value must be a valid email address"))
    return _value_check(tests)


def _number(rules: Message) -> ValueCheck:
    _used(rules, _NUMBER_RULES, "number")
    has = rules.HasField
    get = rules.__getattribute__
    tests: list[tuple[Callable[[Any], bool], str]] = []
    if has("const"):
        tests.append((lambda v: v == get("const"), f"value must equal {get('const')}"))
    low = ("gt", get("gt")) if has("gt") else ("gte", get("gte")) if has("gte") else None
    high = ("lt", get("lt")) if has("lt") else ("lte", get("lte")) if has("lte") else None
    words = {"gt": "greater than", "gte": "greater than or equal to", "lt": "less than", "lte": "less than or equal to"}
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "gt": lambda v, b: v > b, "gte": lambda v, b: v >= b, "lt": lambda v, b: v < b, "lte": lambda v, b: v <= b,
    }  # fmt: skip
    if low and high:
        (lo_op, lo), (hi_op, hi) = low, high
        text = f"value must be {words[lo_op]} {lo} and {words[hi_op]} {hi}"
        tests.append((lambda v: ops[lo_op](v, lo) and ops[hi_op](v, hi), text))
    elif low or high:
        op, bound = low or high  # type: ignore[misc]
        tests.append((lambda v: ops[op](v, bound), f"value must be {words[op]} {bound}"))
    if get("in"):
        allowed = set(get("in"))
        tests.append((lambda v: v in allowed, f"value must be in list {sorted(allowed)}"))
    if get("not_in"):
        refused = set(get("not_in"))
        tests.append((lambda v: v not in refused, f"value must not be in list {sorted(refused)}"))
    return _value_check(tests)


def _enum(rules: validate_pb2.EnumRules, field: FieldDescriptor) -> ValueCheck:
    _used(rules, {"const", "defined_only", "in", "not_in"}, "enum")
    tests: list[tuple[Callable[[int], bool], str]] = []
    if rules.HasField("const"):
        tests.append((lambda v: v == rules.const, f"value must equal {rules.const}"))
    if rules.defined_only:
        defined = {value.number for value in cast(EnumDescriptor, field.enum_type).values}
        tests.append((lambda v: v in defined, "value must be one of the defined enum values"))
    if getattr(rules, "in"):
        allowed = set(getattr(rules, "in"))
        tests.append((lambda v: v in allowed, f"value must be in list {sorted(allowed)}"))
    if rules.not_in:
        refused = set(rules.not_in)
        tests.append((lambda v: v not in refused, f"value must not be in list {sorted(refused)}"))
    return _value_check(tests)


def _repeated(rules: validate_pb2.RepeatedRules) -> ValueCheck:
    item_check: ValueCheck | None = None
    ignore_zero = False
    if rules.HasField("items"):
        items = rules.items
        if items.cel or items.cel_expression or items.required:
            raise _Unsupported("repeated.items")
        kind = items.WhichOneof("type")
        if kind == "string":
            item_check = _string(items.string)
        elif kind in _NUMBER_TYPES:
            item_check = _number(getattr(items, kind))
        elif kind is not None:
            raise _Unsupported(f"repeated.items.{kind}")
        ignore_zero = items.ignore == _IGNORE_IF_ZERO
    min_items = rules.min_items if rules.HasField("min_items") else None
    max_items = rules.max_items if rules.HasField("max_items") else None
    unique = rules.unique

    def check(values: Any, path: str) -> Iterable[Violation]:
        count = len(values)
        if min_items is not None and count < min_items:
            yield (path, f"value must contain at least {min_items} item(s)")
        if max_items is not None and count > max_items:
            yield (path, f"value must contain no more than {max_items} item(s)")
        if unique and len(set(values)) != count:
            yield (path, "repeated value must contain unique items")
        if item_check is not None:
            for index, value in enumerate(values):
                if ignore_zero and not value:
                    continue
                yield from item_check(value, f"{path}[{index}]")

    return check


def _value_check(tests: list[tuple[Callable[[Any], bool], str]]) -> ValueCheck:
    def check(value: Any, path: str) -> Iterable[Violation]:
        for test, text in tests:
            if not test(value):
                yield (path, text)

    return check
