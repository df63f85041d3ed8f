"""The generated contracts: gen/ imports, the Envoy descriptor set serves the public REST table, validation
rules declared in the protos hold, and the drift check of tools/gen.py notices stale files."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import protovalidate
import pytest
from chirp.auth.v1 import auth_service_pb2
from chirp.engagement.v1 import engagement_service_pb2
from chirp.graph.v1 import graph_service_pb2
from chirp.timeline.v1 import timeline_service_pb2
from chirp.tweet.v1 import tweet_service_pb2
from chirp.user.v1 import user_pb2, user_service_pb2
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, field_mask_pb2
from google.protobuf.message import Message

from services.kit import registry
from tools import gen

DESCRIPTOR_PATH = gen.GEN / gen.DESCRIPTOR_NAME


@cache
def _descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    return descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_PATH.read_bytes())


def _methods() -> Iterator[tuple[str, descriptor_pb2.MethodDescriptorProto]]:
    """(fully qualified service name, method) for every RPC in the descriptor set."""
    for file in _descriptor_set().file:
        for service in file.service:
            for method in service.method:
                yield f"{file.package}.{service.name}", method


def _routes(packages: set[str]) -> dict[tuple[str, str], str]:
    """(HTTP method, path) -> `Service.Method` for the RPCs of the given packages."""
    routes: dict[tuple[str, str], str] = {}
    for service, method in _methods():
        if service.rpartition(".")[0] not in packages:
            continue
        rule = method.options.Extensions[annotations_pb2.http]
        verb = rule.WhichOneof("pattern")
        if verb is not None:
            routes[(verb.upper(), getattr(rule, verb))] = f"{service.rpartition('.')[2]}.{method.name}"
    return routes


def test_every_generated_module_imports() -> None:
    modules = sorted(
        ".".join(path.relative_to(gen.GEN).with_suffix("").parts) for path in gen.GEN.rglob("*_pb2*.py")
    )
    assert "chirp.tweet.v1.tweet_service_pb2_grpc" in modules
    assert "buf.validate.validate_pb2" in modules
    for name in modules:
        importlib.import_module(name)


@pytest.mark.parametrize("entry", registry.services(), ids=lambda e: e.name)
def test_registry_service_is_in_descriptor_and_generated(entry: registry.Entry) -> None:
    services = {service for service, _ in _methods()}
    assert entry.proto in services
    package, _, name = entry.proto.rpartition(".")
    grpc_module = importlib.import_module(f"{package}.{entry.name}_service_pb2_grpc")
    assert hasattr(grpc_module, f"add_{name}Servicer_to_server")


def test_descriptor_set_carries_error_details_for_the_transcoder() -> None:
    names = {file.name for file in _descriptor_set().file}
    assert {
        "google/rpc/status.proto",
        "google/rpc/error_details.proto",
        "google/api/annotations.proto",
    } <= names
    assert not any(file.HasField("source_code_info") for file in _descriptor_set().file)


def test_response_body_is_only_used_for_http_body() -> None:
    # Envoy's grpc_json_transcoder refuses to load a descriptor whose `response_body` names anything but a
    # google.api.HttpBody field; an RPC whose REST answer is one resource returns that resource instead.
    messages = {
        f".{file.package}.{message.name}": message
        for file in _descriptor_set().file
        for message in file.message_type
    }
    offenders = []
    for service, method in _methods():
        field_name = method.options.Extensions[annotations_pb2.http].response_body
        if not field_name:
            continue
        fields = {f.name: f for f in messages[method.output_type].field}
        if field_name not in fields or fields[field_name].type_name != ".google.api.HttpBody":
            offenders.append(f"{service}.{method.name} (response_body: {field_name})")
    assert offenders == [], (
        "Envoy rejects `response_body` on a non-HttpBody field; return the resource itself"
    )


EXPECTED_ROUTES = {
    ("POST", "/v1/accounts"): "AuthService.CreateAccount",
    ("POST", "/v1/sessions"): "AuthService.CreateSession",
    ("POST", "/v1/sessions:refresh"): "AuthService.RefreshSession",
    ("POST", "/v1/sessions:revoke"): "AuthService.RevokeSession",
    ("GET", "/.well-known/jwks.json"): "AuthService.GetJwks",
    ("GET", "/v1/me"): "UserService.GetMe",
    ("PATCH", "/v1/me"): "UserService.UpdateMe",
    ("GET", "/v1/users/{username}"): "UserService.GetUser",
    ("GET", "/v1/users/{username}/followers"): "GraphService.ListFollowers",
    ("GET", "/v1/users/{username}/following"): "GraphService.ListFollowing",
    ("POST", "/v1/users/{username}:follow"): "GraphService.Follow",
    ("POST", "/v1/users/{username}:unfollow"): "GraphService.Unfollow",
    ("POST", "/v1/users/{username}:block"): "GraphService.Block",
    ("POST", "/v1/users/{username}:unblock"): "GraphService.Unblock",
    ("POST", "/v1/users/{username}:mute"): "GraphService.Mute",
    ("POST", "/v1/users/{username}:unmute"): "GraphService.Unmute",
    ("GET", "/v1/follow_requests"): "GraphService.ListFollowRequests",
    ("POST", "/v1/follow_requests/{username}:accept"): "GraphService.AcceptFollowRequest",
    ("POST", "/v1/follow_requests/{username}:reject"): "GraphService.RejectFollowRequest",
    ("GET", "/v1/suggestions"): "GraphService.ListSuggestions",
    ("POST", "/v1/tweets"): "TweetService.CreateTweet",
    ("GET", "/v1/tweets/{tweet_id}"): "TweetService.GetTweet",
    ("DELETE", "/v1/tweets/{tweet_id}"): "TweetService.DeleteTweet",
    ("GET", "/v1/tweets/{tweet_id}/context"): "TweetService.GetTweetContext",
    ("GET", "/v1/users/{username}/tweets"): "TweetService.ListUserTweets",
    ("POST", "/v1/tweets/{tweet_id}:like"): "EngagementService.LikeTweet",
    ("POST", "/v1/tweets/{tweet_id}:unlike"): "EngagementService.UnlikeTweet",
    ("POST", "/v1/tweets/{tweet_id}:retweet"): "EngagementService.RetweetTweet",
    ("POST", "/v1/tweets/{tweet_id}:unretweet"): "EngagementService.UnretweetTweet",
    ("POST", "/v1/tweets/{tweet_id}:bookmark"): "EngagementService.BookmarkTweet",
    ("POST", "/v1/tweets/{tweet_id}:unbookmark"): "EngagementService.UnbookmarkTweet",
    ("GET", "/v1/tweets/{tweet_id}/likers"): "EngagementService.ListLikers",
    ("GET", "/v1/tweets/{tweet_id}/retweeters"): "EngagementService.ListRetweeters",
    ("GET", "/v1/bookmarks"): "EngagementService.ListBookmarks",
    ("GET", "/v1/timelines/home"): "TimelineService.GetHomeTimeline",
    # Not in the public table: the no-op floor the benchmark measures the home timeline against.
    ("GET", "/v1/timelines:ping"): "TimelineService.Ping",
}
CORE_PACKAGES = {f"chirp.{d}.v1" for d in ("auth", "user", "graph", "tweet", "engagement", "timeline")}


def test_core_routes_are_exactly_the_rest_table() -> None:
    assert _routes(CORE_PACKAGES) == EXPECTED_ROUTES


@pytest.mark.parametrize(
    ("rpc", "answer"),
    [
        ("AuthService.CreateAccount", ".chirp.user.v1.User"),
        ("UserService.GetMe", ".chirp.user.v1.User"),
        ("UserService.UpdateMe", ".chirp.user.v1.User"),
        ("UserService.GetUser", ".chirp.user.v1.User"),
        ("GraphService.Follow", ".chirp.user.v1.Relationship"),
        ("GraphService.AcceptFollowRequest", ".chirp.user.v1.Relationship"),
        ("TweetService.CreateTweet", ".chirp.tweet.v1.Tweet"),
        ("TweetService.GetTweet", ".chirp.tweet.v1.Tweet"),
        ("EngagementService.LikeTweet", ".chirp.tweet.v1.Tweet"),
        ("EngagementService.UnbookmarkTweet", ".chirp.tweet.v1.Tweet"),
    ],
)
def test_single_resource_routes_answer_the_resource(rpc: str, answer: str) -> None:
    outputs = {f"{service.rpartition('.')[2]}.{m.name}": m.output_type for service, m in _methods()}
    assert outputs[rpc] == answer


def _violations(message: Message) -> list[tuple[str, str]]:
    """(field path, rule id) of every violation, e.g. ("username", "string.pattern")."""
    return sorted(
        (".".join(element.field_name for element in v.proto.field.elements), v.proto.rule_id)
        for v in protovalidate.collect_violations(message)
    )


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            auth_service_pb2.CreateAccountRequest(
                username="alice_1", email="a@example.com", password="x" * 8
            ),
            [],
        ),
        (
            auth_service_pb2.CreateAccountRequest(username="bad name", email="nope", password="short"),
            [("email", "string.email"), ("password", "string.min_len"), ("username", "string.pattern")],
        ),
        (
            auth_service_pb2.CreateAccountRequest(
                username="a" * 16, email="a@example.com", password="x" * 129, display_name="d" * 51
            ),
            [
                ("display_name", "string.max_len"),
                ("password", "string.max_len"),
                ("username", "string.pattern"),
            ],
        ),
        (
            graph_service_pb2.ListFollowersRequest(username="bob", page_size=101),
            [("page_size", "int32.gte_lte")],
        ),
        (
            graph_service_pb2.ListFollowersRequest(username="bob", page_size=-1),
            [("page_size", "int32.gte_lte")],
        ),
        (graph_service_pb2.ListFollowerIdsRequest(user_id=1, page_size=10_000), []),
        (
            graph_service_pb2.ListFollowerIdsRequest(user_id=0, page_size=10_001),
            [("page_size", "int32.gte_lte"), ("user_id", "int64.gt")],
        ),
        (tweet_service_pb2.CreateTweetRequest(text="hello", reply_to_tweet_id=0, media_ids=[1, 2]), []),
        (tweet_service_pb2.CreateTweetRequest(text=""), [("text", "string.min_len")]),
        (tweet_service_pb2.CreateTweetRequest(text="é" * 2001), [("text", "string.max_bytes")]),
        (
            tweet_service_pb2.CreateTweetRequest(text="hi", media_ids=[1, 1]),
            [("media_ids", "repeated.unique")],
        ),
        (
            tweet_service_pb2.CreateTweetRequest(text="hi", media_ids=[1, 2, 3, 4, 5]),
            [("media_ids", "repeated.max_items")],
        ),
        (
            tweet_service_pb2.CreateTweetRequest(text="hi", quote_tweet_id=-1),
            [("quote_tweet_id", "int64.gte")],
        ),
        (tweet_service_pb2.GetTweetRequest(tweet_id=0), [("tweet_id", "int64.gt")]),
        (engagement_service_pb2.LikeTweetRequest(tweet_id=7), []),
        (timeline_service_pb2.GetHomeTimelineRequest(page_size=100), []),
        (user_service_pb2.LookupUserRequest(), [("key", "required")]),
        (user_service_pb2.LookupUserRequest(email="x@example.com"), []),
        (user_service_pb2.UpdateMeRequest(user=user_pb2.User(bio="b" * 160, protected=False)), []),
        (
            user_service_pb2.UpdateMeRequest(user=user_pb2.User(bio="b" * 161)),
            [("user.bio", "string.max_len")],
        ),
        (
            user_service_pb2.UpdateMeRequest(user=user_pb2.User(display_name="")),
            [("user.display_name", "string.min_len")],
        ),
        (user_service_pb2.UpdateMeRequest(), [("user", "required")]),
        (
            user_service_pb2.UpdateMeRequest(
                user=user_pb2.User(), update_mask=field_mask_pb2.FieldMask(paths=["bio", "username"])
            ),
            [("update_mask", "update_mask.updatable")],
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Message) else "",
)
def test_validation_rules(message: Message, expected: list[tuple[str, str]]) -> None:
    assert _violations(message) == expected


def test_event_messages_carry_occurred_at() -> None:
    missing = [
        f"{file.package}.{message.name}"
        for file in _descriptor_set().file
        if file.name.startswith("chirp/") and file.name.endswith("_events.proto")
        for message in file.message_type
        if not any(
            f.name == "occurred_at" and f.type_name == ".google.protobuf.Timestamp" for f in message.field
        )
    ]
    assert missing == []


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_drift_check_reports_changed_missing_and_extra_files(tmp_path: Path) -> None:
    fresh = _tree(tmp_path / "fresh", {"a/x_pb2.py": b"new", "a/y_pb2.py": b"same", "b/z_pb2.py": b"z"})
    current = _tree(
        tmp_path / "current",
        {"a/x_pb2.py": b"old", "a/y_pb2.py": b"same", "c/gone_pb2.py": b"g", "a/__pycache__/x.pyc": b"c"},
    )
    drift = gen.compare(fresh, current)
    assert drift == gen.Drift(changed=("a/x_pb2.py",), missing=("b/z_pb2.py",), extra=("c/gone_pb2.py",))
    assert drift.lines() == [
        "  changed: gen/a/x_pb2.py",
        "  missing: gen/b/z_pb2.py",
        "  extra: gen/c/gone_pb2.py",
    ]

    gen.sync(fresh, current)
    assert not gen.compare(fresh, current)
    assert not (current / "c").exists()
