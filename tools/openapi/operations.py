"""One OpenAPI operation per REST route: parameters from the path template and the request fields the body
leaves over, the body, the answers (JSON, server-sent events or raw bytes) and the security the edge applies.

The transcoding rules (google/api/http.proto): path variables bind fields; `body: "*"` puts every other field
in the JSON body, `body: "<field>"` only that field, and the fields left over (all of them with no body) are
query parameters, a nested message's fields as `parent.child`. A google.api.HttpBody body or answer is the raw
bytes, its content type the `Content-Type` header.
"""

from __future__ import annotations

import re

from google.api import field_behavior_pb2

from tools.openapi.descriptors import Index, Message, is_repeated
from tools.openapi.routes import Route, Variable, edge_auth
from tools.openapi.rules import JSON, is_required
from tools.openapi.schemas import Direction, Field, Schemas, behaviors, describe

__all__ = ["ERROR_RESPONSE", "HTTP_BODY", "SECURITY_SCHEMES", "UNAUTHENTICATED_RESPONSE", "operation"]

HTTP_BODY = "google.api.HttpBody"
ERROR_RESPONSE = "Error"
UNAUTHENTICATED_RESPONSE = "Unauthenticated"
_BEARER, _QUERY_TOKEN = "bearerAuth", "accessTokenQuery"
SECURITY_SCHEMES: JSON = {
    _BEARER: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The `access_token` of POST /v1/sessions (or /v1/sessions:refresh), an ES256 JWT that "
        "the edge verifies against /.well-known/jwks.json.",
    },
    _QUERY_TOKEN: {
        "type": "apiKey",
        "in": "query",
        "name": "access_token",
        "description": "The same token as a query parameter, for clients that cannot set headers (a browser's "
        "EventSource).",
    },
}
# Message types that stand for their fields' scalars in a query string.
_URL_SCALARS = frozenset(
    {
        "google.protobuf.Timestamp",
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
        "google.protobuf.DoubleValue",
        "google.protobuf.FloatValue",
        "google.protobuf.Int64Value",
        "google.protobuf.UInt64Value",
        "google.protobuf.Int32Value",
        "google.protobuf.UInt32Value",
        "google.protobuf.BoolValue",
        "google.protobuf.StringValue",
        "google.protobuf.BytesValue",
    }
)
# Raw bytes of any media type (the Content-Type header says which): google.api.HttpBody.
_RAW: JSON = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
_FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(?:\s|$)", re.DOTALL)


def operation(route: Route, schemas: Schemas) -> JSON:
    index = schemas.index
    request = index.message(route.method.proto.input_type)
    comment = index.comment(route.method.name)
    result: JSON = {"operationId": route.operation_id, "tags": [route.service.short_name]}
    if comment:
        result["summary"] = _summary(comment)
        result["description"] = comment
    path_fields = {v.field_path for v in route.variables}
    parameters = [_path_parameter(v, request, schemas) for v in route.variables]
    if route.body != "*":
        skip = path_fields | ({route.body} if route.body else set())
        parameters += _query_parameters(request, schemas, skip=skip, prefix="", seen=frozenset())
    if parameters:
        result["parameters"] = parameters
    body = _request_body(route, request, schemas, path_fields)
    if body is not None:
        result["requestBody"] = body
    auth = edge_auth(route.verb, route.template)
    result["responses"] = _responses(route, schemas, auth)
    result["security"] = _security(auth, streaming=route.method.proto.server_streaming)
    return result


def _summary(comment: str) -> str:
    first = comment.split("\n\n", 1)[0].replace("\n", " ")
    match = _FIRST_SENTENCE.match(first)
    return match.group(1) if match else first


def _field(index: Index, message: Message, field_path: str) -> tuple[Message, Field]:
    """The field a dotted path names, and the message it belongs to."""
    *parents, last = field_path.split(".")
    for name in parents:
        message = index.message(_by_name(message, name).type_name)
    return message, _by_name(message, last)


def _by_name(message: Message, name: str) -> Field:
    for field in message.proto.field:
        if field.name == name:
            return field
    raise ValueError(f"{message.name} has no field {name!r} (named in a google.api.http rule)")


def _parameter(name: str, where: str, message: Message, field: Field, schemas: Schemas, required: bool) -> JSON:
    schema, notes = schemas.url_value(field)
    parameter: JSON = {"name": name, "in": where, "required": required}
    description = describe(schemas.index.comment(f"{message.name}.{field.name}"), " ".join(notes))
    if description:
        parameter["description"] = description
    parameter["schema"] = schema
    if is_repeated(field):
        parameter["style"], parameter["explode"] = "form", True  # types=A&types=B
    return parameter


def _path_parameter(variable: Variable, request: Message, schemas: Schemas) -> JSON:
    message, field = _field(schemas.index, request, variable.field_path)
    parameter = _parameter(variable.field_path, "path", message, field, schemas, required=True)
    if variable.pattern is not None:
        # The value spans path segments: its slashes are sent as they are, not percent-encoded.
        parameter["schema"] = {"type": "string", "pattern": variable.pattern}
    return parameter


def _query_parameters(
    message: Message, schemas: Schemas, *, skip: set[str], prefix: str, seen: frozenset[str]
) -> list[JSON]:
    index = schemas.index
    parameters: list[JSON] = []
    for field in message.proto.field:
        name = prefix + field.name
        if name in skip or field_behavior_pb2.OUTPUT_ONLY in behaviors(field) or index.map_entry(field):
            continue
        type_name = field.type_name.lstrip(".")
        if field.type == Field.TYPE_MESSAGE and type_name not in _URL_SCALARS:
            if is_repeated(field) or type_name in seen:
                continue  # a list of messages, or a message inside itself, has no query string form
            nested = index.message(type_name)
            parameters += _query_parameters(
                nested, schemas, skip=skip, prefix=f"{name}.", seen=seen | {message.name}
            )
            continue
        required = not prefix and _required(field)
        parameters.append(_parameter(name, "query", message, field, schemas, required=required))
    return parameters


def _required(field: Field) -> bool:
    return field_behavior_pb2.REQUIRED in behaviors(field) or is_required(field)


def _request_body(route: Route, request: Message, schemas: Schemas, path_fields: set[str]) -> JSON | None:
    index = schemas.index
    if not route.body:
        return None
    if route.body == "*":
        if request.name == HTTP_BODY:
            return {"required": True, "content": _RAW}
        top_level = {path for path in path_fields if "." not in path}
        schema, required = schemas.body(route.method.proto.input_type, without=top_level)
        return {"required": required, "content": {"application/json": {"schema": schema}}}
    field = _by_name(request, route.body)
    description = index.comment(f"{request.name}.{field.name}")
    if field.type_name.lstrip(".") == HTTP_BODY:
        body: JSON = {"required": True, "content": _RAW}
    elif field.type == Field.TYPE_MESSAGE and not is_repeated(field):
        # The body is the message itself: a JSON object (not null), and a missing one stands for `{}`.
        schema, required = schemas.body(field.type_name, without=set())
        body = {"required": required, "content": {"application/json": {"schema": schema}}}
    else:
        schema = schemas.field(request, field, Direction.REQUEST)
        body = {"required": _required(field), "content": {"application/json": {"schema": schema}}}
    if description:
        body = {"description": description, **body}
    return body


def _responses(route: Route, schemas: Schemas, auth: str) -> JSON:
    index = schemas.index
    method = route.method.proto
    output = method.output_type.lstrip(".")
    described = index.comment(output)
    if route.response_body:
        message = index.message(output)
        field = _by_name(message, route.response_body)
        if field.type_name.lstrip(".") == HTTP_BODY:
            content: JSON = _RAW
        else:
            schema = schemas.field(message, field, Direction.RESPONSE)
            content = {"application/json": {"schema": schema}}
        described = index.comment(f"{output}.{field.name}") or described
    elif output == HTTP_BODY:
        content = _RAW
    elif method.server_streaming:
        content = {"text/event-stream": {"schema": _event(schemas.message(output, Direction.RESPONSE), output)}}
    else:
        content = {"application/json": {"schema": schemas.message(output, Direction.RESPONSE)}}
    ok: JSON = {"description": _summary(described) if described else "OK", "content": content}
    responses: JSON = {"200": ok}
    if auth == "required":
        responses["401"] = {"$ref": f"#/components/responses/{UNAUTHENTICATED_RESPONSE}"}
    responses["4XX"] = {"$ref": f"#/components/responses/{ERROR_RESPONSE}"}
    responses["5XX"] = {"$ref": f"#/components/responses/{ERROR_RESPONSE}"}
    return responses


def _event(message: JSON, name: str) -> JSON:
    """One server-sent event, as OpenAPI 3.2 describes them (its `itemSchema`; before 3.2, tools such as the
    fuzzer read `schema` of text/event-stream as the schema of each event): `data` is a message as JSON."""
    return {
        "type": "object",
        "description": f"One event per message of the stream: its `data` is a {name} as JSON. The stream stays "
        "open until the client leaves or the server shuts down.",
        "properties": {
            "event": {"type": "string"},
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": message},
            "id": {"type": "string"},
            "retry": {"type": "integer", "minimum": 0},
        },
        "required": ["data"],
    }


def _security(auth: str, *, streaming: bool) -> list[JSON]:
    if auth == "none":
        return []
    schemes: list[JSON] = [{_BEARER: []}]
    if streaming:
        schemes.append({_QUERY_TOKEN: []})
    if auth == "optional":
        schemes.append({})  # no token at all is fine too
    return schemes
