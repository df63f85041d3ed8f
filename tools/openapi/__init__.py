"""The OpenAPI 3.1 description of the public REST API, generated from the contracts (`make gen` writes it to
gen/openapi.json).

It describes what the Envoy edge really does (stack/envoy_config.py): the grpc_json_transcoder's routes from
the `google.api.http` annotations, its JSON (proto field names, defaults printed), the jwt_authn rules, and
its errors, which are `google.rpc.Status` objects whatever produced them. Descriptions are the proto comments,
so the descriptor set must be built with source info.

    build(files)  the document, as a dict
    render(doc)   its JSON text, as written to gen/
"""

from __future__ import annotations

import json

from google.protobuf import descriptor_pb2

from tools.openapi.descriptors import Index
from tools.openapi.operations import (
    ERROR_RESPONSE,
    SECURITY_SCHEMES,
    UNAUTHENTICATED_RESPONSE,
    operation,
)
from tools.openapi.routes import Route, routes
from tools.openapi.rules import JSON
from tools.openapi.schemas import Direction, Schemas

__all__ = ["OPENAPI_NAME", "build", "render", "rest_routes"]

OPENAPI_NAME = "openapi.json"
STATUS = "google.rpc.Status"
# Where `make up` serves the API; a client of another stack passes its own base URL.
LOCAL_SERVER = "http://127.0.0.1:8080"

_ABOUT = """\
The REST API of Chirp, served by its Envoy edge, which transcodes it to the gRPC services behind.

**JSON.** Field names are the proto field names (`display_name`). Answers include every field that has no \
presence at its default value (`0`, `""`, `false`, `[]`); a message field that is not set is left out. 64-bit \
integers (ids) are decimal strings, timestamps RFC 3339 strings in UTC, enums the value's name. Requests \
use the same forms (the edge's proto3 JSON parser also takes integers as numbers, enums by number and `null` \
for a field's default); fields the edge does not know are ignored.

**Errors.** Every error, whether a service's or the edge's own (401, 404, 413, 429, 503), is a \
`google.rpc.Status` object with the matching HTTP status: `{"code": <gRPC code>, "message": "...", "details": \
[...]}`; the details carry a `google.rpc.ErrorInfo` (`reason`, `domain`) and, for invalid fields, a \
`google.rpc.BadRequest` with one violation per field.

**Authentication.** POST /v1/sessions answers an access token; send it as `Authorization: Bearer <token>`. \
The edge refuses every POST, PUT, PATCH and DELETE without a valid one (401), except signing up and the \
session routes, where the refresh token is the credential. Reads work without a token, but a token that is \
sent must be valid; some reads concern only the caller and answer 401 without one.

**Paging.** List routes take `page_size` and `page_token` and answer `next_page_token`, empty on the last \
page."""


def rest_routes(files: descriptor_pb2.FileDescriptorSet) -> list[Route]:
    """Every REST route of the descriptor set, in order."""
    return list(routes(Index(files)))


def build(files: descriptor_pb2.FileDescriptorSet, *, lenient_requests: bool = False) -> JSON:
    """The document. `lenient_requests`: request schemas take every form the edge parses, not only the
    canonical one (for the fuzzer, tools/fuzz/; the published document is canonical)."""
    index = Index(files)
    if STATUS not in index.messages:
        raise ValueError(f"the descriptor set lacks {STATUS} (google/rpc/status.proto), the error body")
    schemas = Schemas(index, lenient=lenient_requests)
    paths: dict[str, JSON] = {}
    tags: dict[str, str] = {}
    for route in routes(index):
        item = paths.setdefault(route.path, {})
        if route.verb in item:
            raise ValueError(f"{route.verb.upper()} {route.path} is bound twice ({route.method.name})")
        item[route.verb] = operation(route, schemas)
        tags.setdefault(route.service.short_name, index.comment(route.service.name))
    error = schemas.message(STATUS, Direction.RESPONSE)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Chirp REST API",
            "version": "v1",
            "summary": "An open-source, Twitter-like social platform.",
            "description": _ABOUT,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": LOCAL_SERVER, "description": "The local stack (`make up`)."}],
        "tags": [{"name": name, "description": text} if text else {"name": name} for name, text in tags.items()],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "responses": {
                ERROR_RESPONSE: {
                    "description": "An error: its `code` is the gRPC status code the HTTP status stands for.",
                    "content": {"application/json": {"schema": error}},
                },
                UNAUTHENTICATED_RESPONSE: {
                    "description": "No access token, or one that is expired or was not signed by the auth service.",
                    "content": {"application/json": {"schema": error}},
                },
            },
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def render(document: JSON) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
