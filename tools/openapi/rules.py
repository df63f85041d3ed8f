"""protovalidate (`buf.validate`) field rules as JSON Schema keywords, for the request side of the OpenAPI
description.

A rule becomes a keyword only where JSON Schema means the same thing; the rest becomes a sentence of the
field's description. How a number rule is said depends on the form numbers take (`Numbers`): `minimum` does
not apply to a 64-bit integer written as a JSON string, and `enum: [1, 2]` would refuse the string "1" that
the edge's parser takes for 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from buf.validate import validate_pb2
from google.protobuf import descriptor_pb2

__all__ = ["JSON", "ONEOF_RULES", "Constraints", "Numbers", "enum_numbers", "field_constraints", "is_required"]

JSON = dict[str, Any]
# How a field's numbers are written where the rules apply: as JSON numbers only (a URL parameter, a 32-bit
# integer in a JSON body), as numbers or strings (what the edge parses), or as strings only (a 64-bit integer).
Numbers = Literal["number", "number or string", "string"]
Field = descriptor_pb2.FieldDescriptorProto
FieldRules = validate_pb2.FieldRules
# The extensions, untyped: the generated buf.validate module has no stubs that type them as extensions.
FIELD_RULES: Any = validate_pb2.field
ONEOF_RULES: Any = validate_pb2.oneof

_NUMERIC_RULES = (
    "int32",
    "int64",
    "uint32",
    "uint64",
    "sint32",
    "sint64",
    "fixed32",
    "fixed64",
    "sfixed32",
    "sfixed64",
    "float",
    "double",
)
_STRING_FORMATS = {
    "email": "email",
    "hostname": "hostname",
    "ipv4": "ipv4",
    "ipv6": "ipv6",
    "uri": "uri",
    "uri_ref": "uri-reference",
    "uuid": "uuid",
}
# RE2 syntax that ECMA-262 regular expressions (JSON Schema's) lack or read differently.
_NOT_ECMA = re.compile(r"\(\?|\\[AzZpPQE]|\[\[:")


@dataclass(slots=True)
class Constraints:
    """JSON Schema keywords for one value (`keywords`) or for the field's array or object (`container`), and
    the rules no keyword expresses (`notes`, sentences for the description)."""

    keywords: JSON = field(default_factory=dict)
    container: JSON = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def rules_of(proto: Field) -> FieldRules:
    rules: FieldRules = proto.options.Extensions[FIELD_RULES]
    return rules


def is_required(proto: Field) -> bool:
    """`(buf.validate.field).required`: the field must be set (and, for a scalar, not its default)."""
    return rules_of(proto).required


def field_constraints(proto: Field, *, numbers: Numbers) -> Constraints:
    """The constraints of a field's rules, for a schema whose numbers are written as `numbers` says."""
    rules = rules_of(proto)
    out = Constraints()
    if rules.ignore == validate_pb2.IGNORE_ALWAYS:
        return out
    kind = rules.WhichOneof("type")
    if kind == "repeated":
        _repeated(rules.repeated, out)
        _value(rules.repeated.items, out, numbers=numbers)
        out.notes += _cel_notes(rules.repeated.items)
    elif kind == "map":
        _map(rules.map, out)
        _value(rules.map.values, out, numbers=numbers)
        out.notes += _cel_notes(rules.map.values)
    else:
        _value(rules, out, numbers=numbers)
    out.notes += _cel_notes(rules)
    if rules.ignore == validate_pb2.IGNORE_IF_ZERO_VALUE and out.keywords:
        out.notes.append("The rules apply only when the field is set to something other than its default.")
        out.keywords = {}
    return out


def enum_numbers(proto: Field, values: list[int]) -> list[int]:
    """The numbers an enum field (or a repeated enum field's items) may take under its rules."""
    rules = rules_of(proto)
    if rules.WhichOneof("type") == "repeated":
        rules = rules.repeated.items
    if rules.ignore == validate_pb2.IGNORE_ALWAYS or rules.WhichOneof("type") != "enum":
        return values
    enum = rules.enum
    allowed = list(values)
    if enum.HasField("const"):
        allowed = [enum.const]
    if _in(enum):
        allowed = [n for n in allowed if n in _in(enum)]
    return [n for n in allowed if n not in enum.not_in]


def _value(rules: FieldRules, out: Constraints, *, numbers: Numbers) -> None:
    kind = rules.WhichOneof("type")
    if kind == "string":
        _string(rules.string, out)
    elif kind == "bytes":
        out.notes += _bytes_notes(rules.bytes)
    elif kind in _NUMERIC_RULES:
        _number(getattr(rules, kind), out, numbers=numbers)
    elif kind == "field_mask" and _in(rules.field_mask):
        paths = ", ".join(f"`{p}`" for p in _in(rules.field_mask))
        out.notes.append(f"Paths may only be {paths}.")
    elif kind in ("timestamp", "duration", "any"):
        out.notes.append(f"Rules: {_text(getattr(rules, kind))}.")


def _string(rules: validate_pb2.StringRules, out: Constraints) -> None:
    k = out.keywords
    if rules.HasField("len"):
        k["minLength"] = k["maxLength"] = rules.len
    _copy(rules, {"min_len": "minLength", "max_len": "maxLength"}, k)
    patterns = []
    if rules.HasField("pattern"):
        if _NOT_ECMA.search(rules.pattern):
            out.notes.append(f"Must match the RE2 pattern `{rules.pattern}`.")
        else:
            patterns.append(rules.pattern)
    if rules.HasField("prefix"):
        patterns.append("^" + re.escape(rules.prefix))
    if rules.HasField("suffix"):
        patterns.append(re.escape(rules.suffix) + "$")
    if rules.HasField("contains"):
        patterns.append(re.escape(rules.contains))
    if patterns:
        k["pattern"] = patterns[0]
        if len(patterns) > 1:
            k["allOf"] = [{"pattern": p} for p in patterns[1:]]
    well_known = rules.WhichOneof("well_known")
    if well_known in _STRING_FORMATS and getattr(rules, well_known):
        k["format"] = _STRING_FORMATS[well_known]
    elif well_known is not None:
        out.notes.append(f"Must be a valid {well_known.replace('_', ' ')}.")
    if rules.HasField("const"):
        k["const"] = rules.const
    if _in(rules):
        k["enum"] = list(_in(rules))
    if rules.not_in:
        k["not"] = {"enum": list(rules.not_in)}
    for name, what in (("len_bytes", "exactly"), ("min_bytes", "at least"), ("max_bytes", "at most")):
        if rules.HasField(name):
            out.notes.append(f"{what.capitalize()} {getattr(rules, name)} bytes of UTF-8.")
    if rules.HasField("not_contains"):
        out.notes.append(f"Must not contain `{rules.not_contains}`.")
    if rules.example:
        k["examples"] = list(rules.example)


def _number(rules: Any, out: Constraints, *, numbers: Numbers) -> None:
    k = out.keywords
    bounds = []
    for name, keyword, sign in (
        ("gt", "exclusiveMinimum", ">"),
        ("gte", "minimum", "≥"),
        ("lt", "exclusiveMaximum", "<"),
        ("lte", "maximum", "≤"),
    ):
        if rules.HasField(name):
            bounds.append((keyword, getattr(rules, name), sign))
    low = [b for b in bounds if b[0].endswith("inimum")]
    high = [b for b in bounds if b[0].endswith("aximum")]
    if low and high and low[0][1] > high[0][1]:
        # protovalidate reads gt > lt as "outside the range"; JSON Schema has no single keyword for that.
        out.notes.append(f"Must be {high[0][2]} {high[0][1]} or {low[0][2]} {low[0][1]}.")
    elif bounds:
        if numbers != "string":
            k.update({keyword: value for keyword, value, _ in bounds})
        if numbers != "number":
            out.notes.append("Must be " + " and ".join(f"{sign} {value}" for _, value, sign in bounds) + ".")
    listed = []
    if rules.HasField("const"):
        listed.append(("const", rules.const, f"Must be {rules.const}."))
    if _in(rules):
        listed.append(("enum", _in(rules), f"Must be one of {', '.join(map(str, _in(rules)))}."))
    if rules.not_in:
        listed.append(("not", {"enum": list(rules.not_in)}, f"Must not be {', '.join(map(str, rules.not_in))}."))
    for keyword, value, note in listed:
        if numbers == "number":
            k[keyword] = value
        else:
            out.notes.append(note)
    if getattr(rules, "finite", False):
        out.notes.append("Must be finite (not NaN or infinity).")


def _copy(rules: Any, names: dict[str, str], into: JSON) -> None:
    """Each rule of `names` that is set, as the JSON Schema keyword it names."""
    for name, keyword in names.items():
        if rules.HasField(name):
            into[keyword] = getattr(rules, name)


def _repeated(rules: validate_pb2.RepeatedRules, out: Constraints) -> None:
    _copy(rules, {"min_items": "minItems", "max_items": "maxItems"}, out.container)
    if rules.unique:
        out.container["uniqueItems"] = True


def _map(rules: validate_pb2.MapRules, out: Constraints) -> None:
    c = out.container
    _copy(rules, {"min_pairs": "minProperties", "max_pairs": "maxProperties"}, c)
    if rules.HasField("keys"):
        keys = Constraints()
        _value(rules.keys, keys, numbers="string")
        if keys.keywords:
            c["propertyNames"] = keys.keywords
        out.notes += [f"Keys: {note}" for note in keys.notes]


def _bytes_notes(rules: validate_pb2.BytesRules) -> list[str]:
    return [f"Rules on the decoded bytes: {_text(rules)}."] if rules.ListFields() else []


def _cel_notes(rules: FieldRules) -> list[str]:
    # A custom rule is said by its message; one without a message is left to the field's comment (its id
    # and CEL expression are for the validator, not for a reader).
    return [f"Refused otherwise: {rule.message}." for rule in rules.cel if rule.message]


def _in(rules: Any) -> list[Any]:
    # `in` is a Python keyword: the generated class has the field, but only getattr reaches it.
    return list(getattr(rules, "in"))


def _text(message: Any) -> str:
    return ", ".join(f"{descriptor.name} {value}" for descriptor, value in message.ListFields())
