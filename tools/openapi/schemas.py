"""JSON Schemas of protobuf messages as the edge's transcoder writes and reads them (the proto3 JSON mapping).

A message has a response schema and a request schema, because the transcoder writes one form and reads more:

- `chirp.user.v1.User` is what the edge answers: proto field names (`preserve_proto_field_names`), every
  field without presence printed even at its default (`always_print_primitive_fields`, so those are
  `required`), 64-bit integers as decimal strings, enums by name, timestamps as RFC 3339, bytes as base64, and
  nothing else (`additionalProperties: false`).
- `chirp.user.v1.User.Input` is what a request body holds: the same mapping, the field's `field_behavior`
  REQUIRED, and its protovalidate rules. Unknown fields are ignored by the edge, so they are allowed.

The request schemas come in two strengths. The published document has the canonical form, the one to send.
With `lenient=True` they take every form proto3 JSON parsing accepts as well: any integer as a number or a
string, an enum's number, any string for a bool, `null` for a field's default, a single value for a
one-element list (and nested lists, which the parser flattens). The fuzzer uses those: it sends what a
request schema refuses and expects a 4xx, so that schema must not refuse what the edge takes.

Path and query parameters are text: `url_value` gives their schema, the plain JSON Schema type of the value.
"""

from __future__ import annotations

import copy
import enum

from google.api import field_behavior_pb2
from google.protobuf import descriptor_pb2

from tools.openapi.descriptors import Index, Message, has_presence, is_repeated
from tools.openapi.rules import (
    JSON,
    ONEOF_RULES,
    Constraints,
    Numbers,
    enum_numbers,
    field_constraints,
    is_required,
)

__all__ = ["INPUT_SUFFIX", "Direction", "Field", "Schemas", "behaviors", "describe"]

Field = descriptor_pb2.FieldDescriptorProto
INPUT_SUFFIX = ".Input"

_INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
_INT64 = {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1}
_UINT64 = {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}
_INTEGERS: dict[int, JSON] = {
    Field.TYPE_INT32: _INT32,
    Field.TYPE_SINT32: _INT32,
    Field.TYPE_SFIXED32: _INT32,
    Field.TYPE_UINT32: _UINT32,
    Field.TYPE_FIXED32: _UINT32,
    Field.TYPE_INT64: _INT64,
    Field.TYPE_SINT64: _INT64,
    Field.TYPE_SFIXED64: _INT64,
    Field.TYPE_UINT64: _UINT64,
    Field.TYPE_FIXED64: _UINT64,
}
_SIXTY_FOUR = frozenset(
    {Field.TYPE_INT64, Field.TYPE_SINT64, Field.TYPE_SFIXED64, Field.TYPE_UINT64, Field.TYPE_FIXED64}
)
_FLOATS = frozenset({Field.TYPE_FLOAT, Field.TYPE_DOUBLE})
# Integers as the parser takes them in strings: a sign, leading zeros ("+05" is 5); no spaces, no exponent.
_DECIMAL = "^[+-]?[0-9]+$"
_NON_FINITE = {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}

# Well-known types the JSON mapping writes as something other than an object of their fields.
_WRAPPERS = {
    "google.protobuf.DoubleValue": Field.TYPE_DOUBLE,
    "google.protobuf.FloatValue": Field.TYPE_FLOAT,
    "google.protobuf.Int64Value": Field.TYPE_INT64,
    "google.protobuf.UInt64Value": Field.TYPE_UINT64,
    "google.protobuf.Int32Value": Field.TYPE_INT32,
    "google.protobuf.UInt32Value": Field.TYPE_UINT32,
    "google.protobuf.BoolValue": Field.TYPE_BOOL,
    "google.protobuf.StringValue": Field.TYPE_STRING,
    "google.protobuf.BytesValue": Field.TYPE_BYTES,
}
_SPECIAL: dict[str, JSON] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {
        "type": "string",
        "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$",
        "description": "A duration in seconds with an `s` suffix, e.g. `1.5s`.",
    },
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": "Field paths separated by commas, e.g. `display_name,bio`.",
    },
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string", "description": "The type URL of the message."}},
        "required": ["@type"],
        "description": "A message of the type `@type` names, its fields beside `@type`.",
    },
}


class Direction(enum.Enum):
    RESPONSE = "response"
    REQUEST = "request"


def behaviors(proto: Field) -> set[int]:
    return set(proto.options.Extensions[field_behavior_pb2.field_behavior])


def describe(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


class Schemas:
    """Builds the schemas of the messages an API uses; `components` collects them by name."""

    def __init__(self, index: Index, *, lenient: bool = False) -> None:
        self.index = index
        self.lenient = lenient
        self.components: dict[str, JSON] = {}

    # --- messages ---------------------------------------------------------------------------------------------

    def message(self, type_name: str, direction: Direction) -> JSON:
        """A reference to the schema of a message (inline for the well-known types)."""
        name = type_name.lstrip(".")
        special = self._special(name, direction)
        if special is not None:
            return special
        key = name + INPUT_SUFFIX if direction is Direction.REQUEST else name
        if key not in self.components:
            if direction is Direction.REQUEST and key in self.index.messages:
                raise ValueError(f"{key}: a message has the name the request schema of {name} would take")
            self.components[key] = {}  # claimed first: a message may contain itself
            self.components[key] = self._object(self.index.message(name), direction)
        return {"$ref": f"#/components/schemas/{key}"}

    def body(self, type_name: str, *, without: set[str]) -> tuple[JSON, bool]:
        """The request schema of a message whose fields in `without` come from the path instead, and whether
        a body is required. The edge reads a missing body as `{}`, so one is when a field of it is."""
        reference = self.message(type_name, Direction.REQUEST)
        if "$ref" not in reference:
            return reference, False
        schema = self.components[reference["$ref"].rpartition("/")[2]]
        if not without:
            return reference, bool(schema.get("required"))
        schema = copy.deepcopy(schema)
        for name in without:
            schema["properties"].pop(name, None)
        required = [name for name in schema.pop("required", []) if name not in without]
        if required:
            schema["required"] = required
        return schema, bool(required)

    def enum(self, type_name: str) -> JSON:
        """A reference to an enum's response schema: its value names, each described."""
        name = type_name.lstrip(".")
        if name not in self.components:
            values = self.index.enum(name).value
            comments = {v.name: self.index.comment(f"{name}.{v.name}") for v in values}
            listing = "\n".join(f"- `{value}`: {text}" for value, text in comments.items() if text)
            schema: JSON = {"type": "string", "enum": [v.name for v in values]}
            description = describe(self.index.comment(name), listing)
            if description:
                schema["description"] = description
            self.components[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}

    def _object(self, message: Message, direction: Direction) -> JSON:
        properties: dict[str, JSON] = {}
        required: list[str] = []
        for proto in message.proto.field:
            properties[proto.name] = self.field(message, proto, direction)
            if direction is Direction.RESPONSE:
                if not has_presence(message, proto):
                    required.append(proto.name)
            elif field_behavior_pb2.OUTPUT_ONLY not in behaviors(proto) and (
                field_behavior_pb2.REQUIRED in behaviors(proto) or is_required(proto)
            ):
                required.append(proto.name)
        schema: JSON = {"type": "object"}
        description = self.index.comment(message.name)
        if description:
            schema["description"] = description
        schema["properties"] = properties
        if required:
            schema["required"] = required
        if direction is Direction.RESPONSE:
            schema["additionalProperties"] = False
        schema.update(self._oneofs(message, direction))
        return schema

    def _oneofs(self, message: Message, direction: Direction) -> JSON:
        """At most one member of each oneof is in an answer; a `(buf.validate.oneof).required` one needs one.
        (Requests are not held to "at most one": whether a null member counts as set is the parser's call.)"""
        groups: list[JSON] = []
        for i, oneof in enumerate(message.proto.oneof_decl):
            members = [f.name for f in message.proto.field if f.HasField("oneof_index") and f.oneof_index == i]
            if any(f.proto3_optional for f in message.proto.field if f.name in members):
                continue  # the synthetic oneof of a proto3 `optional` field
            if direction is Direction.RESPONSE and len(members) > 1:
                pairs = [[a, b] for n, a in enumerate(members) for b in members[n + 1 :]]
                groups.append({"not": {"anyOf": [{"required": pair} for pair in pairs]}})
            if direction is Direction.REQUEST and oneof.options.Extensions[ONEOF_RULES].required:
                groups.append({"anyOf": [{"required": [name]} for name in members]})
        if not groups:
            return {}
        return {"allOf": groups} if len(groups) > 1 else groups[0]

    # --- fields -----------------------------------------------------------------------------------------------

    def field(self, message: Message, proto: Field, direction: Direction) -> JSON:
        """A field's schema in a JSON object, with its comment, its rules (requests) and its behaviours."""
        request = direction is Direction.REQUEST
        lenient = request and self.lenient
        entry = self.index.map_entry(proto)
        numbers_of = entry.proto.field[1] if entry is not None else proto
        rules = field_constraints(proto, numbers=self._numbers(numbers_of)) if request else Constraints()
        if lenient:
            # The parser drops nulls from a list or map and flattens nested lists, so the JSON's own count
            # and uniqueness are not the field's: [null, null] is an empty list, [5, "5"] two equal items.
            rules.container = {k: v for k, v in rules.container.items() if k in ("minItems", "minProperties")}
        if entry is not None:
            key, value = entry.proto.field
            values = self._value(value, direction, Constraints())
            schema: JSON = {"type": "object", "additionalProperties": _or_null(values) if lenient else values}
            names = _map_key(key)
            if names:
                schema["propertyNames"] = names
            schema.update(rules.container)
        elif is_repeated(proto):
            item = self._value(proto, direction, rules)
            schema = {"type": "array", "items": item, **rules.container}
            if lenient:
                # The parser flattens nested lists ([[1], [[2]]] is [1, 2]) and reads a single value as a list.
                schema["items"] = {"anyOf": [*_alternatives(_or_null(item)), {"type": "array"}]}
                schema = {"anyOf": [schema, *_alternatives(item)]}
        else:
            schema = self._value(proto, direction, rules)
        if lenient:
            schema = _or_null(schema)
        return self._annotate(schema, f"{message.name}.{proto.name}", proto, rules.notes)

    def _numbers(self, proto: Field) -> Numbers:
        if self.lenient:
            return "number or string"
        return "string" if proto.type in _SIXTY_FOUR else "number"

    def _annotate(self, schema: JSON, name: str, proto: Field, notes: list[str]) -> JSON:
        description = describe(self.index.comment(name), " ".join(notes))
        if description:
            schema = {**schema, "description": describe(description, schema.get("description", ""))}
        kinds = behaviors(proto)
        if field_behavior_pb2.OUTPUT_ONLY in kinds:
            schema["readOnly"] = True
        if field_behavior_pb2.INPUT_ONLY in kinds:
            schema["writeOnly"] = True
        return schema

    def _value(self, proto: Field, direction: Direction, rules: Constraints) -> JSON:
        """One value of the field (an item, for a repeated field) in JSON."""
        if proto.type == Field.TYPE_MESSAGE:
            return self.message(proto.type_name, direction)
        if proto.type == Field.TYPE_ENUM:
            if direction is Direction.RESPONSE:
                return self.enum(proto.type_name)
            return self._enum_input(proto, in_url=False)
        if direction is Direction.RESPONSE:
            return _scalar_output(proto.type)
        if self.lenient:
            return _with(_scalar_parsed(proto.type), rules.keywords)
        return _with(_scalar_output(proto.type), rules.keywords)

    def _enum_input(self, proto: Field, *, in_url: bool) -> JSON:
        enum_proto = self.index.enum(proto.type_name)
        defined = {v.number: v.name for v in enum_proto.value}
        allowed = enum_numbers(proto, list(defined))
        names = {"type": "string", "enum": [defined[n] for n in allowed]}
        if in_url and self.lenient:
            # A query string takes a defined number in place of the name ("order=1"), nothing else.
            return {"anyOf": [names, {"type": "integer", "enum": allowed}]}
        if not self.lenient:
            return names
        # A JSON body takes any number, as a number or a string, unless the rules say which.
        restricted = allowed != list(defined)
        numbers: JSON = {"type": "integer", "enum": allowed} if restricted else dict(_INT32)
        strings: JSON = (
            {"type": "string", "enum": [str(n) for n in allowed]}
            if restricted
            else {"type": "string", "pattern": _DECIMAL}
        )
        return {
            "anyOf": [names, numbers, strings],
            "description": "The value's name (matched ignoring case) or its number.",
        }

    # --- path and query parameters ----------------------------------------------------------------------------

    def url_value(self, proto: Field) -> tuple[JSON, list[str]]:
        """A path or query parameter's schema (an array, for a repeated field), and the rules no keyword says."""
        rules = field_constraints(proto, numbers="number")
        if proto.type == Field.TYPE_MESSAGE:
            name = proto.type_name.lstrip(".")
            value = _url_scalar(_WRAPPERS[name]) if name in _WRAPPERS else {"type": "string"}
            if name == "google.protobuf.Timestamp":
                value["format"] = "date-time"
        elif proto.type == Field.TYPE_ENUM:
            value = self._enum_input(proto, in_url=True)
        else:
            value = _url_scalar(proto.type)
        value = _with(value, rules.keywords)
        if is_repeated(proto):
            value = {"type": "array", "items": value, **rules.container}
        return value, rules.notes

    def _special(self, name: str, direction: Direction) -> JSON | None:
        if name in _WRAPPERS:
            kind = _WRAPPERS[name]
            lenient = direction is Direction.REQUEST and self.lenient
            return _scalar_parsed(kind) if lenient else _scalar_output(kind)
        if name in _SPECIAL:
            schema = dict(_SPECIAL[name])
            if direction is Direction.REQUEST and self.lenient:
                schema.pop("pattern", None)  # whether "1.s" is a duration is the parser's call
            return schema
        return None


def _scalar_output(kind: int) -> JSON:
    """A scalar as the edge writes it: the canonical proto3 JSON form."""
    if kind in _SIXTY_FOUR:
        unsigned = kind in (Field.TYPE_UINT64, Field.TYPE_FIXED64)
        return {
            "type": "string",
            "format": "uint64" if unsigned else "int64",
            "pattern": "^[0-9]+$" if unsigned else "^-?[0-9]+$",
        }
    if kind in (Field.TYPE_UINT32, Field.TYPE_FIXED32):
        return dict(_UINT32)
    if kind in _INTEGERS:
        return {"type": "integer", "format": "int32"}
    if kind in _FLOATS:
        return {"anyOf": [{"type": "number"}, _NON_FINITE]}
    if kind == Field.TYPE_BOOL:
        return {"type": "boolean"}
    if kind == Field.TYPE_BYTES:
        return {"type": "string", "contentEncoding": "base64"}
    return {"type": "string"}


def _scalar_parsed(kind: int) -> JSON:
    """A scalar in every form the edge's parser takes."""
    if kind in _INTEGERS:
        bounds = {k: v for k, v in _INTEGERS[kind].items() if k in ("minimum", "maximum")}
        return {"type": ["integer", "string"], "pattern": _DECIMAL, **bounds}
    if kind in _FLOATS:
        return {"type": ["number", "string"]}  # "1.5", "NaN", "-Infinity"
    if kind == Field.TYPE_BOOL:
        return {"type": ["boolean", "string"]}  # the parser reads any string as a bool
    return _scalar_output(kind)


def _url_scalar(kind: int) -> JSON:
    if kind in _INTEGERS:
        return dict(_INTEGERS[kind])
    if kind in _FLOATS:
        return {"anyOf": [{"type": "number"}, _NON_FINITE]}
    return _scalar_output(kind)


def _with(base: JSON, keywords: JSON) -> JSON:
    """`base` (a type's schema, with its range) narrowed by a rule's keywords."""
    merged = {**base, **keywords}
    for exclusive, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if exclusive in keywords and inclusive not in keywords:
            merged.pop(inclusive, None)  # the type's own bound says nothing more
    return merged


def _map_key(proto: Field) -> JSON:
    if proto.type in _INTEGERS:
        return {"pattern": _DECIMAL}
    if proto.type == Field.TYPE_BOOL:
        return {"enum": ["true", "false"]}
    return {}


def _alternatives(schema: JSON) -> list[JSON]:
    """`schema` as a list of alternatives, to put beside others in an anyOf."""
    if set(schema) == {"anyOf"}:
        alternatives: list[JSON] = schema["anyOf"]
        return alternatives
    return [schema]


def _or_null(schema: JSON) -> JSON:
    """`schema`, or null: proto3 JSON parsing takes null for any field and leaves the field at its default."""
    if not schema:
        return schema
    kinds = schema.get("type")
    if kinds is not None and "enum" not in schema and "const" not in schema:
        listed = list(kinds) if isinstance(kinds, list) else [kinds]
        return {**schema, "type": [*listed, "null"]}
    if "anyOf" in schema and kinds is None:
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    return {"anyOf": [schema, {"type": "null"}]}
