"""The REST routes of a descriptor set: every `google.api.http` rule and additional binding, with its path
template turned into an OpenAPI path, and whether the edge wants an access token for it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from google.api import annotations_pb2, http_pb2

from tools.openapi.descriptors import Index, Method, Service

__all__ = ["Auth", "Route", "Variable", "edge_auth", "parse_template", "routes"]

Auth = Literal["none", "optional", "required"]

_VERBS = ("get", "put", "post", "delete", "patch")
_OPENAPI_VERBS = frozenset({*_VERBS, "head", "options", "trace"})
_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)(?:=([^{}]*))?\}")


@dataclass(frozen=True, slots=True)
class Variable:
    field_path: str  # "username", or "book.name" for a nested field
    pattern: str | None  # an anchored regex for `{name=shelves/*}`; None for a plain one-segment variable


@dataclass(frozen=True, slots=True)
class Route:
    verb: str  # lower case, as OpenAPI path items name operations
    template: str  # the HttpRule path: /v1/users/{username}:follow
    path: str  # the OpenAPI path: /v1/users/{username}:follow, /v1/{name} for /v1/{name=shelves/*}
    variables: tuple[Variable, ...]
    body: str  # "*", a field name, or "" for no body
    response_body: str
    service: Service
    method: Method
    binding: int  # 0 for the rule itself, 1.. for its additional_bindings

    @property
    def operation_id(self) -> str:
        suffix = f"_{self.binding + 1}" if self.binding else ""
        return f"{self.service.short_name}_{self.method.proto.name}{suffix}"


def routes(index: Index) -> Iterator[Route]:
    """Every route, in the order of the services and methods in the descriptor set."""
    for service in index.services:
        for method in service.methods:
            rule = method.proto.options.Extensions[annotations_pb2.http]
            if rule.WhichOneof("pattern") is None:
                continue  # internal: no REST route
            for binding, each in enumerate((rule, *rule.additional_bindings)):
                yield _route(each, service, method, binding)


def _route(rule: http_pb2.HttpRule, service: Service, method: Method, binding: int) -> Route:
    kind = rule.WhichOneof("pattern")
    if kind == "custom":
        verb, template = rule.custom.kind.lower(), rule.custom.path
        if verb not in _OPENAPI_VERBS:
            raise ValueError(f"{method.name}: OpenAPI has no operation for the HTTP method {rule.custom.kind!r}")
    elif kind in _VERBS:
        verb, template = kind, getattr(rule, kind)
    else:
        raise ValueError(f"{method.name}: binding {binding} has no path")
    path, variables = parse_template(template)
    return Route(verb, template, path, variables, rule.body, rule.response_body, service, method, binding)


def parse_template(template: str) -> tuple[str, tuple[Variable, ...]]:
    """An HttpRule path template as an OpenAPI path and its variables.

    `{field}` stays as it is; `{field=segments}` becomes `{field}` with a pattern for the value, which then spans
    segments: `*` is one segment, `**` any number, and a literal matches itself. A wildcard outside a variable
    binds no field, so has no name in OpenAPI; such templates are refused.
    """
    if not template.startswith("/"):
        raise ValueError(f"path template {template!r}: it must start with /")
    variables: list[Variable] = []

    def replace(match: re.Match[str]) -> str:
        field_path, segments = match.group(1), match.group(2)
        pattern = None if segments in (None, "*") else "^" + "/".join(map(_segment, segments.split("/"))) + "$"
        variables.append(Variable(field_path, pattern))
        return "{" + field_path + "}"

    path = _VARIABLE.sub(replace, template)
    literal = _VARIABLE.sub("", path)
    if "*" in literal or "{" in literal or "}" in literal:
        raise ValueError(f"path template {template!r}: a wildcard must be inside a {{variable=...}}")
    return path, tuple(variables)


def _segment(segment: str) -> str:
    if segment == "**":
        return ".*"
    if segment == "*":
        return "[^/]+"
    return re.escape(segment)


# The edge's jwt_authn rules, in its order (first match wins): `_jwt_filter` in stack/envoy_config.py.
# tests/tools/test_openapi.py evaluates the rules in gateway/edge.yaml for every route and compares.
_PUBLIC_PATHS = {("post", "/v1/accounts")}
_PUBLIC_PREFIXES = ("/.well-known/", "/v1/sessions")
_WRITES = frozenset({"post", "put", "patch", "delete"})


def edge_auth(verb: str, template: str) -> Auth:
    """Whether the edge lets a request through without a token ("none": a token is not even looked at),
    verifies one if present ("optional"), or refuses one without it with 401 ("required")."""
    literal_prefix = template.split("{", 1)[0]
    if (verb, template) in _PUBLIC_PATHS or literal_prefix.startswith(_PUBLIC_PREFIXES):
        return "none"
    return "required" if verb in _WRITES else "optional"
