"""The OpenAPI description (tools/openapi/, gen/openapi.json): a valid OpenAPI 3.1 document, exactly the routes
of the descriptor set, the edge's own auth rules, and schemas that hold for the JSON the edge really sends and
takes. A small proto written here covers what the contracts do not use yet (additional bindings, `{name=...}`
templates, a body field, maps, oneofs, wrappers, raw bytes)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import grpc_tools  # type: ignore[import-untyped]
import jsonschema
import pytest
import yaml  # type: ignore[import-untyped]
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2
from grpc_tools import protoc
from openapi_spec_validator import validate

from stack.envoy_config import EDGE_CONFIG_PATH
from tools import gen, openapi, vendor
from tools.openapi.routes import parse_template

SPEC_PATH = gen.GEN / openapi.OPENAPI_NAME
JSON = dict[str, Any]


@cache
def _spec() -> JSON:
    document: JSON = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return document


@cache
def _descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    return descriptor_pb2.FileDescriptorSet.FromString((gen.GEN / gen.DESCRIPTOR_NAME).read_bytes())


def _operations(document: JSON) -> Iterator[tuple[str, str, JSON]]:
    for path, item in document["paths"].items():
        for verb, operation in item.items():
            yield verb, path, operation


def _validator(document: JSON, name: str) -> jsonschema.Draft202012Validator:
    """A validator for the component `name`, its references resolved inside `document`."""
    return _validator_of(document, {"$ref": f"#/components/schemas/{name}"})


def _validator_of(document: JSON, schema: JSON) -> jsonschema.Draft202012Validator:
    rooted = {"allOf": [schema], "components": document["components"]}
    return jsonschema.Draft202012Validator(rooted, format_checker=jsonschema.FormatChecker())


# --- the committed document ----------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(_spec())
    assert _spec()["openapi"] == "3.1.0"


def test_every_route_of_the_descriptor_set_and_nothing_else() -> None:
    # Read from the descriptor Envoy transcodes with, independently of the generator.
    expected = {}
    for file in _descriptor_set().file:
        for service in file.service:
            for method in service.method:
                rule = method.options.Extensions[annotations_pb2.http]
                for binding in (rule, *rule.additional_bindings) if rule.WhichOneof("pattern") else ():
                    verb = binding.WhichOneof("pattern")
                    template = getattr(binding, verb)
                    path = re.sub(r"\{([^=}]+)=[^}]*\}", r"{\1}", template)
                    expected[(verb, path)] = f"{service.name}_{method.name}"
    listed = {(verb, path): operation["operationId"] for verb, path, operation in _operations(_spec())}
    assert listed == expected
    assert len(listed) >= 50
    assert listed[("get", "/v1/users/{username}")] == "UserService_GetUser"
    assert listed[("get", "/v1/notifications:stream")] == "NotificationService_StreamNotifications"


def _edge_rules() -> list[JSON]:
    config = yaml.safe_load(EDGE_CONFIG_PATH.read_text())
    for listener in config["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for network_filter in chain["filters"]:
                for http_filter in network_filter["typed_config"].get("http_filters", []):
                    if http_filter["name"] == "envoy.filters.http.jwt_authn":
                        rules: list[JSON] = http_filter["typed_config"]["rules"]
                        return rules
    raise AssertionError(f"no jwt_authn filter in {EDGE_CONFIG_PATH}")


def _edge_auth(rules: list[JSON], verb: str, path: str) -> str:
    """What the edge's jwt_authn rules ask of a request: the first rule that matches decides."""
    for rule in rules:
        match = rule["match"]
        if "path" in match and path != match["path"]:
            continue
        if "prefix" in match and not path.startswith(match["prefix"]):
            continue
        headers = match.get("headers", [])
        assert all(h["name"] == ":method" and set(h["string_match"]) == {"safe_regex"} for h in headers), rule
        if not all(re.fullmatch(h["string_match"]["safe_regex"]["regex"], verb.upper()) for h in headers):
            continue
        requires = rule.get("requires")
        if requires is None:
            return "none"
        if "provider_name" in requires:
            return "required"
        alternatives = requires["requires_any"]["requirements"]
        assert {"allow_missing": {}} in alternatives, rule
        return "optional"
    return "none"


def test_security_is_what_the_edge_requires() -> None:
    rules = _edge_rules()
    security = {
        (): "none",
        (("bearerAuth",), ()): "optional",
        (("bearerAuth",),): "required",
        (("bearerAuth",), ("accessTokenQuery",), ()): "optional",
    }
    for verb, path, operation in _operations(_spec()):
        concrete = re.sub(r"\{[^}]+\}", "x1", path)
        declared = tuple(tuple(requirement) for requirement in operation["security"])
        assert security[declared] == _edge_auth(rules, verb, concrete), f"{verb.upper()} {path}"
        if security[declared] == "required":
            assert "401" in operation["responses"]
    by_route = {(verb, path): security[tuple(map(tuple, op["security"]))] for verb, path, op in _operations(_spec())}
    assert by_route[("post", "/v1/accounts")] == by_route[("post", "/v1/sessions:refresh")] == "none"
    assert by_route[("post", "/v1/tweets")] == by_route[("delete", "/v1/tweets/{tweet_id}")] == "required"
    assert by_route[("get", "/v1/timelines/home")] == "optional"


def test_errors_are_google_rpc_status_for_every_4xx_and_5xx() -> None:
    for verb, path, operation in _operations(_spec()):
        assert operation["responses"]["4XX"] == operation["responses"]["5XX"] == {
            "$ref": "#/components/responses/Error"
        }, f"{verb} {path}"
    error = _validator(_spec(), "google.rpc.Status")
    # As the edge sent them: a service's error, and one of Envoy's own replies.
    error.validate(
        {
            "code": 5,
            "message": "tweet 123 does not exist",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "TWEET_NOT_FOUND",
                    "domain": "chirp.tweet",
                    "metadata": {},
                }
            ],
        }
    )
    error.validate({"code": 3, "details": [], "message": "up_to_id: invalid value 5.5 for type TYPE_INT64"})
    assert not error.is_valid({"code": 3, "message": "no details"})
    assert not error.is_valid({"code": "3", "message": "", "details": []})


# A tweet exactly as GET /v1/tweets/{id} answered it.
TWEET = {
    "id": "254300423362457600",
    "author": {
        "id": "254300422032855040",
        "username": "alice",
        "display_name": "Alice",
        "avatar_url": "",
        "protected": False,
    },
    "text": "hello, #chirp!",
    "created_at": "2026-12-03T17:39:05.603261184Z",
    "reply_to_tweet_id": "0",
    "reply_to_user_id": "0",
    "conversation_id": "254300423362457600",
    "quote_tweet_id": "0",
    "entities": {"hashtags": [{"tag": "chirp", "start": 7, "end": 13}], "mentions": [], "urls": [], "cashtags": []},
    "media": [],
    "like_count": 0,
    "retweet_count": 0,
    "reply_count": 0,
    "quote_count": 0,
    "viewer": {"liked": False, "retweeted": False, "bookmarked": False},
}


def test_response_schemas_take_what_the_edge_sends_and_nothing_else() -> None:
    tweet = _validator(_spec(), "chirp.tweet.v1.Tweet")
    tweet.validate(TWEET)
    tweet.validate({k: v for k, v in TWEET.items() if k != "viewer"})  # a message field may be left out
    assert not tweet.is_valid({**TWEET, "id": 254300423362457600})  # 64-bit integers are strings
    assert not tweet.is_valid({**TWEET, "like_count": "0"})  # 32-bit ones are numbers
    assert not tweet.is_valid({k: v for k, v in TWEET.items() if k != "like_count"})  # defaults are printed
    assert not tweet.is_valid({**TWEET, "likeCount": 0})  # proto names only, nothing unknown
    assert not tweet.is_valid({**TWEET, "created_at": "yesterday"})
    presence = _validator(_spec(), "chirp.presence.v1.Presence")
    presence.validate({"user_id": "1", "state": "PRESENCE_STATE_ONLINE", "last_seen_at": "2026-12-03T17:41:50Z"})
    assert not presence.is_valid({"user_id": "1", "state": 1})  # enums by name


@cache
def _lenient() -> JSON:
    return openapi.build(_descriptor_set(), lenient_requests=True)


def test_published_request_schemas_are_the_canonical_form() -> None:
    mark_read = _validator(_spec(), "chirp.notification.v1.MarkReadRequest.Input")
    mark_read.validate({"up_to_id": "5"})
    assert not mark_read.is_valid({"up_to_id": 5})
    assert not mark_read.is_valid({"up_to_id": None})
    heartbeat = _validator(_spec(), "chirp.presence.v1.HeartbeatRequest.Input")
    heartbeat.validate({"state": "PRESENCE_STATE_IDLE"})
    assert not heartbeat.is_valid({"state": 1})
    tweet = _validator(_spec(), "chirp.tweet.v1.CreateTweetRequest.Input")
    tweet.validate({"text": "hi", "media_ids": ["1", "2"], "unknown": "ignored"})
    assert not tweet.is_valid({"text": "hi", "media_ids": "1"})


def test_lenient_request_schemas_take_every_form_the_edge_parses() -> None:
    # The fuzzer's variant. Each of these was sent to the edge and accepted (or refused only by a rule).
    lenient = _lenient()
    assert lenient["paths"].keys() == _spec()["paths"].keys()
    def answers(document: JSON) -> JSON:
        schemas = document["components"]["schemas"].items()
        return {name: _without_descriptions(schema) for name, schema in schemas if not name.endswith(".Input")}

    assert answers(lenient) == answers(_spec())  # the same answers
    mark_read = _validator(lenient, "chirp.notification.v1.MarkReadRequest.Input")
    for value in (5, "5", 5.0, "+5", "05", 1e2):
        mark_read.validate({"up_to_id": value})
    assert not mark_read.is_valid({"up_to_id": 5.5})
    assert not mark_read.is_valid({"up_to_id": "5e0"})
    assert not mark_read.is_valid({"up_to_id": " 5"})
    assert not mark_read.is_valid({})  # REQUIRED
    heartbeat = _validator(lenient, "chirp.presence.v1.HeartbeatRequest.Input")
    for state in ("PRESENCE_STATE_ONLINE", 1, "1", None):
        heartbeat.validate({"state": state})
    assert not heartbeat.is_valid({"state": "PRESENCE_STATE_OFFLINE"})  # `in: [1, 2]`
    assert not heartbeat.is_valid({"state": 3})
    user = _validator(lenient, "chirp.user.v1.User.Input")
    user.validate({"display_name": "Al", "protected": "yes", "bio": None, "displayName": "ignored"})
    assert not user.is_valid({"bio": "b" * 161})
    assert not user.is_valid({"display_name": ""})
    assert not user.is_valid({"display_name": ["Al"]})
    tweet = _validator(lenient, "chirp.tweet.v1.CreateTweetRequest.Input")
    for media_ids in ("5", 5, [[5]], [[None]], [[[None]]], None, [None], [None] * 5):
        tweet.validate({"text": "x", "media_ids": media_ids})
    assert not tweet.is_valid({"text": "x", "media_ids": [{}]})
    assert not tweet.is_valid({"text": "x", "media_ids": [True]})


def _without_descriptions(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_descriptions(v) for k, v in schema.items() if k != "description"}
    if isinstance(schema, list):
        return [_without_descriptions(v) for v in schema]
    return schema


def test_limits_and_comments_come_from_the_contracts() -> None:
    operations = {op["operationId"]: op for _, _, op in _operations(_spec())}
    create = operations["AuthService_CreateAccount"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    account = _spec()["components"]["schemas"][body["$ref"].rpartition("/")[2]]
    assert account["required"] == ["username", "email", "password"]
    assert account["properties"]["username"]["pattern"] == "^[A-Za-z0-9_]{1,15}$"
    assert account["properties"]["email"]["format"] == "email"
    assert account["properties"]["password"]["minLength"] == 8
    assert account["properties"]["password"]["writeOnly"] is True  # INPUT_ONLY
    assert create["summary"].startswith("Registers")
    followers = {p["name"]: p for p in operations["GraphService_ListFollowers"]["parameters"]}
    assert followers["username"]["in"] == "path"
    assert followers["page_size"]["schema"] == {"type": "integer", "format": "int32", "minimum": 0, "maximum": 100}
    assert "previous page" in followers["page_token"]["description"]
    tweet = _spec()["components"]["schemas"]["chirp.tweet.v1.Tweet"]
    assert tweet["properties"]["id"]["readOnly"] is True  # OUTPUT_ONLY
    media_ids = _spec()["components"]["schemas"]["chirp.tweet.v1.CreateTweetRequest.Input"]["properties"]["media_ids"]
    assert (media_ids["maxItems"], media_ids["uniqueItems"]) == (4, True)
    assert media_ids["items"] == {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}
    assert "Must be > 0." in media_ids["description"]  # a string has no minimum


def test_the_stream_and_the_upload() -> None:
    stream = _spec()["paths"]["/v1/notifications:stream"]["get"]
    content = stream["responses"]["200"]["content"]
    assert list(content) == ["text/event-stream"]
    event = content["text/event-stream"]["schema"]  # one event, as OpenAPI 3.2's itemSchema
    assert event["properties"]["data"]["contentSchema"] == {
        "$ref": "#/components/schemas/chirp.notification.v1.StreamNotificationsResponse"
    }
    _validator_of(_spec(), event).validate({"event": "message", "data": '{"unread_count":0}'})
    upload = _spec()["paths"]["/v1/media"]["post"]
    assert list(upload["requestBody"]["content"]) == ["*/*"]
    assert [p["name"] for p in upload["parameters"]] == ["request_id"]  # the rest of the request, in the query


# --- the generator, on a proto of its own --------------------------------------------------------------------

_SHELF_PROTO = """\
syntax = "proto3";
package test.shelf.v1;
import "buf/validate/validate.proto";
import "google/api/annotations.proto";
import "google/api/field_behavior.proto";
import "google/api/httpbody.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
import "google/rpc/status.proto";

// Books on shelves.
service ShelfService {
  // Returns a book. Returns NOT_FOUND if there is none.
  rpc GetBook(GetBookRequest) returns (Book) {
    option (google.api.http) = {
      get: "/v1/{name=shelves/*/books/*}"
      additional_bindings {get: "/v1/books/{book_id}"}
    };
  }
  // Changes a book.
  rpc UpdateBook(UpdateBookRequest) returns (Book) {
    option (google.api.http) = {patch: "/v1/books/{book.id}" body: "book"};
  }
  // Adds a book to a shelf.
  rpc CreateBook(CreateBookRequest) returns (Book) {
    option (google.api.http) = {post: "/v1/shelves/{shelf_id}/books" body: "*"};
  }
  // Replaces a book's cover.
  rpc PutCover(PutCoverRequest) returns (google.api.HttpBody) {
    option (google.api.http) = {custom: {kind: "PUT" path: "/v1/books/{book_id}/cover"} body: "cover"};
  }
  // Streams new books.
  rpc WatchBooks(WatchBooksRequest) returns (stream Book) {
    option (google.api.http) = {get: "/v1/books:watch"};
  }
  // No route.
  rpc Internal(GetBookRequest) returns (Book);
}

// What a book is about.
enum Genre {
  GENRE_UNSPECIFIED = 0;
  // Made up.
  GENRE_FICTION = 1;
  GENRE_POETRY = 2;
}

// A book.
message Book {
  int64 id = 1 [(google.api.field_behavior) = OUTPUT_ONLY];
  // The title.
  string title = 2 [
    (google.api.field_behavior) = REQUIRED,
    (buf.validate.field).string = {min_len: 1, max_len: 100}
  ];
  uint64 copies = 3;
  int32 pages = 4 [(buf.validate.field).int32 = {gte: 1, lte: 10000}];
  Genre genre = 5 [(buf.validate.field).enum = {defined_only: true, not_in: [0]}];
  bytes cover = 6;
  google.protobuf.Timestamp published_at = 7;
  google.protobuf.Duration reading_time = 8;
  google.protobuf.Int64Value isbn = 9;
  map<string, int64> ratings = 10;
  repeated string tags = 11 [(buf.validate.field).repeated = {
    max_items: 3
    unique: true
    items: {string: {pattern: "^[a-z]+$"}}
  }];
  optional string subtitle = 12;
  oneof owner {
    string library = 13;
    string person = 14;
  }
  double price = 15;
  Book sequel = 16;
  string secret = 17 [(google.api.field_behavior) = INPUT_ONLY];
}

message GetBookRequest {
  // shelves/<shelf>/books/<book>
  string name = 1;
  int64 book_id = 2 [(buf.validate.field).int64.gt = 0];
}

message UpdateBookRequest {
  Book book = 1 [(google.api.field_behavior) = REQUIRED];
  google.protobuf.FieldMask update_mask = 2;
}

message CreateBookRequest {
  int64 shelf_id = 1;
  Book book = 2;
  string request_id = 3 [(buf.validate.field).string.max_len = 64];
}

message PutCoverRequest {
  int64 book_id = 1;
  google.api.HttpBody cover = 2 [(google.api.field_behavior) = REQUIRED];
}

message WatchBooksRequest {
  Genre genre = 1;
  Filter filter = 2;
  repeated Genre genres = 3;
  repeated Filter filters = 4;
}

message Filter {
  string author = 1;
  google.protobuf.Timestamp since = 2;
  Filter inner = 3;
}
"""


@pytest.fixture(scope="module")
def shelves(tmp_path_factory: pytest.TempPathFactory) -> JSON:
    work = tmp_path_factory.mktemp("shelf")
    (work / "shelf.proto").write_text(_SHELF_PROTO)
    out = work / "shelf.binpb"
    code = protoc.main(
        [
            "protoc",
            f"-I{work}",
            f"-I{vendor.THIRD_PARTY}",
            f"-I{Path(grpc_tools.__file__).parent / '_proto'}",
            "--include_imports",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            "shelf.proto",
        ]
    )
    assert code == 0
    files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    document = openapi.build(files)
    validate(document)
    lenient = openapi.build(files, lenient_requests=True)
    validate(lenient)
    return {"canonical": document, "lenient": lenient}


def test_templates_bindings_and_bodies(shelves: JSON) -> None:
    shelf = shelves["canonical"]
    routes = {(verb, path): op for verb, path, op in _operations(shelf)}
    assert set(routes) == {
        ("get", "/v1/{name}"),
        ("get", "/v1/books/{book_id}"),
        ("patch", "/v1/books/{book.id}"),
        ("post", "/v1/shelves/{shelf_id}/books"),
        ("put", "/v1/books/{book_id}/cover"),
        ("get", "/v1/books:watch"),
    }
    by_name = routes[("get", "/v1/{name}")]
    assert by_name["operationId"] == "ShelfService_GetBook"
    assert routes[("get", "/v1/books/{book_id}")]["operationId"] == "ShelfService_GetBook_2"
    name = by_name["parameters"][0]
    assert (name["in"], name["schema"]) == ("path", {"type": "string", "pattern": "^shelves/[^/]+/books/[^/]+$"})
    assert [p["name"] for p in by_name["parameters"]] == ["name", "book_id"]  # the rest as query parameters
    book_id = routes[("get", "/v1/books/{book_id}")]["parameters"][0]["schema"]
    assert (book_id["type"], book_id["exclusiveMinimum"], "minimum" in book_id) == ("integer", 0, False)

    update = routes[("patch", "/v1/books/{book.id}")]
    assert [(p["name"], p["in"]) for p in update["parameters"]] == [("book.id", "path"), ("update_mask", "query")]
    assert update["requestBody"]["required"] is True
    assert update["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/test.shelf.v1.Book.Input"
    }

    create = routes[("post", "/v1/shelves/{shelf_id}/books")]
    assert "parameters" in create and [p["name"] for p in create["parameters"]] == ["shelf_id"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"book", "request_id"}  # body "*": everything the path does not bind
    assert create["requestBody"]["required"] is False
    assert create["security"] == [{"bearerAuth": []}]

    cover = routes[("put", "/v1/books/{book_id}/cover")]
    assert list(cover["requestBody"]["content"]) == ["*/*"]
    assert list(cover["responses"]["200"]["content"]) == ["*/*"]

    watch = routes[("get", "/v1/books:watch")]
    assert [p["name"] for p in watch["parameters"]] == [
        "genre",
        "filter.author",
        "filter.since",
        "filter.inner.author",
        "filter.inner.since",
        "genres",
    ]  # a message inside itself stops after one level; a list of messages has no query form
    assert list(watch["responses"]["200"]["content"]) == ["text/event-stream"]
    assert watch["security"] == [{"bearerAuth": []}, {"accessTokenQuery": []}, {}]


def test_proto3_json_mapping(shelves: JSON) -> None:
    shelf = shelves["canonical"]
    book = shelf["components"]["schemas"]["test.shelf.v1.Book"]
    properties = book["properties"]
    assert properties["id"] == {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$", "readOnly": True}
    assert properties["copies"]["pattern"] == "^[0-9]+$"
    assert properties["pages"] == {"type": "integer", "format": "int32"}  # rules are for requests
    assert properties["genre"] == {"$ref": "#/components/schemas/test.shelf.v1.Genre"}
    assert properties["cover"] == {"type": "string", "contentEncoding": "base64"}
    assert properties["published_at"] == {"type": "string", "format": "date-time"}
    assert properties["reading_time"]["pattern"] == r"^-?[0-9]+(\.[0-9]{1,9})?s$"
    assert properties["isbn"]["type"] == "string"  # a wrapper is its value
    assert properties["ratings"]["additionalProperties"]["format"] == "int64"
    assert properties["tags"] == {"type": "array", "items": {"type": "string"}}
    assert properties["sequel"] == {"$ref": "#/components/schemas/test.shelf.v1.Book"}
    assert properties["title"]["description"] == "The title."
    assert properties["secret"]["writeOnly"] is True
    # Printed even at their defaults: everything without presence. Not: optional, oneof and message fields.
    printed = ["id", "title", "copies", "pages", "genre", "cover", "ratings", "tags", "price", "secret"]
    assert book["required"] == printed
    assert book["additionalProperties"] is False
    assert book["not"] == {"anyOf": [{"required": ["library", "person"]}]}  # one owner at most
    genre = shelf["components"]["schemas"]["test.shelf.v1.Genre"]
    assert genre["enum"] == ["GENRE_UNSPECIFIED", "GENRE_FICTION", "GENRE_POETRY"]
    assert "- `GENRE_FICTION`: Made up." in genre["description"]

    valid = {
        "id": "1",
        "title": "T",
        "copies": "18446744073709551615",
        "pages": 0,
        "genre": "GENRE_POETRY",
        "cover": "AAE=",
        "ratings": {"x": "5"},
        "tags": [],
        "price": "NaN",
        "secret": "",
        "subtitle": "S",
        "library": "L",
    }
    validator = _validator(shelf, "test.shelf.v1.Book")
    validator.validate(valid)
    assert not validator.is_valid({**valid, "person": "P"})
    assert not validator.is_valid({**valid, "ratings": {"x": 5}})


def test_request_rules(shelves: JSON) -> None:
    properties = shelves["canonical"]["components"]["schemas"]["test.shelf.v1.Book.Input"]["properties"]
    assert (properties["title"]["minLength"], properties["title"]["maxLength"]) == (1, 100)
    assert (properties["pages"]["minimum"], properties["pages"]["maximum"]) == (1, 10000)
    assert properties["tags"]["maxItems"] == 3 and properties["tags"]["uniqueItems"] is True
    assert properties["genre"] == {"type": "string", "enum": ["GENRE_FICTION", "GENRE_POETRY"]}
    canonical = _validator(shelves["canonical"], "test.shelf.v1.Book.Input")
    canonical.validate({"title": "T", "genre": "GENRE_FICTION", "tags": ["a"], "ratings": {"x": "1"}})
    assert not canonical.is_valid({"title": "T", "genre": 2})
    assert not canonical.is_valid({"title": "T", "tags": ["a", None]})
    lenient = _validator(shelves["lenient"], "test.shelf.v1.Book.Input")
    lenient.validate({"title": "T", "genre": "GENRE_FICTION", "tags": ["a", None], "ratings": {"x": 1}})
    lenient.validate({"title": "T", "genre": 2, "pages": "10", "isbn": "123", "sequel": None, "tags": "a"})
    for validator in (canonical, lenient):
        assert not validator.is_valid({"title": "T", "genre": "GENRE_UNSPECIFIED"})  # not_in: [0]
        assert not validator.is_valid({"title": "T", "tags": ["A"]})
        assert not validator.is_valid({"title": "T", "pages": 0})
        assert not validator.is_valid({"title": ""})
        assert not validator.is_valid({"genre": "GENRE_FICTION"})  # title is REQUIRED


@pytest.mark.parametrize(
    "template",
    ["/v1/*/books", "/v1/books/**", "v1/books", "/v1/{name=shelves/*}/{x}/*"],
)
def test_templates_the_generator_refuses(template: str) -> None:
    with pytest.raises(ValueError, match="template"):
        parse_template(template)
