"""A small descriptor set for the edge tests, built with protoc from protos written here.

Every registry service gets an (empty) service in its own package, so the transcoder can be configured with
the full registry list exactly as in production. The `auth` service gets a handful of RPCs with REST
bindings that cover the edge's rules: a public write, a token-only write, an optional-identity read, a
failing read, a server stream and the JWKS document. `tests.stack.fake_service` implements them.
"""

from __future__ import annotations

from pathlib import Path

import grpc_tools  # type: ignore[import-untyped]
from grpc_tools import protoc

from services.kit import registry

__all__ = ["FAKE_SERVICE", "build_descriptor"]

# The registry entry the fake plays; its proto service carries the test RPCs.
FAKE_SERVICE = "auth"

_FAKE_PROTO = """\
syntax = "proto3";
package {package};
import "google/api/annotations.proto";
import "google/api/httpbody.proto";

service {service} {{
  rpc GetJwks(Empty) returns (google.api.HttpBody) {{ option (google.api.http) = {{get: "/.well-known/jwks.json"}}; }}
  rpc CreateAccount(Echo) returns (Echo) {{ option (google.api.http) = {{post: "/v1/accounts" body: "*"}}; }}
  rpc PostTweet(Echo) returns (Echo) {{ option (google.api.http) = {{post: "/v1/tweets" body: "*"}}; }}
  rpc GetMe(Empty) returns (Echo) {{ option (google.api.http) = {{get: "/v1/me"}}; }}
  rpc GetTweet(GetTweetRequest) returns (Echo) {{ option (google.api.http) = {{get: "/v1/tweets/{{tweet_id}}"}}; }}
  rpc Search(Echo) returns (Echo) {{ option (google.api.http) = {{get: "/v1/search/tweets"}}; }}
  rpc StreamNotifications(Empty) returns (stream Echo) {{
    option (google.api.http) = {{get: "/v1/notifications:stream"}};
  }}
}}

message Empty {{}}
message Echo {{
  string text = 1;
  string user_id = 2;
}}
message GetTweetRequest {{
  int64 tweet_id = 1;
}}
"""


def build_descriptor(out: Path, work: Path) -> Path:
    """Write the descriptor set to `out` (protos go under `work`) and return `out`."""
    files: list[str] = []
    for e in registry.services():
        package, _, service = e.proto.rpartition(".")
        rel = Path(*package.split(".")) / "test_service.proto"
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if e.name == FAKE_SERVICE:
            path.write_text(_FAKE_PROTO.format(package=package, service=service))
        else:
            path.write_text(f'syntax = "proto3";\npackage {package};\nservice {service} {{}}\n')
        files.append(str(rel))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    # google/api/*.proto ship with googleapis-common-protos, next to its Python modules.
    import google.api

    googleapis = Path(google.api.__path__[0]).parent.parent
    code = protoc.main(
        [
            "protoc",
            f"-I{work}",
            f"-I{googleapis}",
            f"-I{well_known}",
            "--include_imports",
            f"--descriptor_set_out={out}",
            *files,
        ]
    )
    if code != 0:
        raise RuntimeError(f"protoc failed with exit code {code}")
    return out
