"""Envoy bootstrap configs for the edge (REST gateway) and the mesh (service-to-service), from the registry.

Both are plain dicts shaped like Envoy's v3 bootstrap; `render` turns one into commented YAML. Nothing here
is hand-copied per service: every cluster, route and transcoded service comes from the `Upstream` list the
caller derives from `services/registry.toml`, so adding a registry entry is the whole job.

The edge's request path, in filter order:

    header_mutation   drop any client-supplied x-chirp-user-id (only jwt_authn may set it)
    rbac              refuse raw gRPC (content-type application/grpc*): internal RPCs are not public
    jwt_authn         verify the bearer token; copy its `sub` into x-chirp-user-id
    local_ratelimit   a token bucket per signed-in user, or per client address for requests without a token;
                      429 with x-ratelimit-* and retry-after headers
    grpc_json_transcoder  REST/JSON <-> gRPC, gRPC errors -> JSON google.rpc.Status with the HTTP status
    router            /chirp.<domain>.v1.<Service>/ -> cluster <name>; /healthz -> cluster health (the stack
                      supervisor's report of every process, stack.health); anything else -> 404

Every reply Envoy makes itself (401, 403, 404, 413, 429, 503, transcoder 400s) is rewritten by
`local_reply_config` into the JSON a transcoded gRPC error has: {"code": <grpc code>, "message": ..,
"details": []}, so a client parses one error shape whatever produced it.

Rate limits are per client, never one bucket that one client could empty for everyone. A request with a
verified token spends its user's bucket (jwt_authn runs first and has put the token's `sub` in x-chirp-user-id);
a request without one spends its client address's. So many users behind one address (an office, a carrier's
NAT) are not throttled together, and a user cannot escape the limit by changing address; sign-up and log-in,
which carry no access token, are limited per address. The address is the TCP peer's (`use_remote_address`
with no trusted hops): a client cannot choose another by sending X-Forwarded-For. An IPv6 client counts as its
/64, which one host usually holds whole. /healthz is never limited, so no client can make probes fail.

Envoy does all of it (a local_ratelimit descriptor whose value is empty gets a bucket per value seen): no
service counts requests. Buckets are per Envoy process and shared by its workers (per connection, a
client would escape by reconnecting), so N edge replicas allow N times the rate; Envoy keeps the
`rate_limit_clients` most recently seen clients of each kind, and one it has forgotten starts with a full
bucket. Requests with a bad token are refused (401) by jwt_authn before the limiter. The edge's own JWKS fetch
comes from 127.0.0.1 without a token, so it shares that address's bucket with local clients.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "EDGE_CONFIG_PATH",
    "HTTP_TO_GRPC",
    "JWKS_PATH",
    "JWT_ISSUER",
    "MESH_CONFIG_PATH",
    "USER_ID_HEADER",
    "EdgeOptions",
    "MeshOptions",
    "Upstream",
    "edge",
    "mesh",
    "render",
]

Config = dict[str, Any]

REPO_ROOT = Path(__file__).resolve().parent.parent
EDGE_CONFIG_PATH = REPO_ROOT / "gateway" / "edge.yaml"
MESH_CONFIG_PATH = REPO_ROOT / "envoy" / "mesh.yaml"

# The header carrying the authenticated user id from the edge to the services. Services trust it only because
# the edge strips any client-supplied copy before jwt_authn sets it.
USER_ID_HEADER = "x-chirp-user-id"
# The `iss` claim the auth service puts in its access tokens.
JWT_ISSUER = "chirp"
# Served by the auth service through the transcoder; the edge fetches its own keys from here.
JWKS_PATH = "/.well-known/jwks.json"
HEALTH_PATH = "/healthz"

_LOOPBACK = "127.0.0.1"
_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_HTTP2_UPSTREAM = {
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "explicit_http_config": {"http2_protocol_options": {}},
    }
}

# HTTP status of an Envoy-generated reply -> the gRPC code a transcoded error with that status would carry
# (the inverse of google.rpc's code -> HTTP mapping), so local replies and service errors look alike.
HTTP_TO_GRPC: Mapping[int, int] = {
    400: 3,  # INVALID_ARGUMENT: malformed JSON, unknown field, bad path binding
    401: 16,  # UNAUTHENTICATED: missing, expired or invalid token
    403: 7,  # PERMISSION_DENIED: raw gRPC from outside
    404: 5,  # NOT_FOUND: no such REST route
    405: 12,  # UNIMPLEMENTED
    408: 4,  # DEADLINE_EXCEEDED: client too slow
    409: 10,  # ABORTED
    413: 8,  # RESOURCE_EXHAUSTED: body larger than the limit
    429: 8,  # RESOURCE_EXHAUSTED: rate limited
    431: 8,  # RESOURCE_EXHAUSTED: headers too large
    499: 1,  # CANCELLED
    500: 13,  # INTERNAL
    501: 12,  # UNIMPLEMENTED
    502: 14,  # UNAVAILABLE: upstream reset
    503: 14,  # UNAVAILABLE: no healthy upstream, connect failure
    504: 4,  # DEADLINE_EXCEEDED: upstream timeout
}
_UNKNOWN = 2


@dataclass(frozen=True, slots=True)
class Upstream:
    """One gRPC service the proxies route to, and the ports of its processes."""

    name: str  # registry name; also the Envoy cluster name
    proto: str  # fully qualified gRPC service, e.g. chirp.tweet.v1.TweetService
    ports: tuple[int, ...]  # the gRPC port of each of its processes on 127.0.0.1, one endpoint each

    def __post_init__(self) -> None:
        if not self.ports:
            raise ValueError(f"{self.name}: an upstream needs at least one port")

    @property
    def prefix(self) -> str:
        """The gRPC path prefix of every method of the service."""
        return f"/{self.proto}/"


@dataclass(frozen=True, slots=True, kw_only=True)
class EdgeOptions:
    """Tunables of the edge; the defaults are what `make up` runs and `gateway/edge.yaml` shows."""

    http_port: int = 8080
    admin_port: int = 9901
    # Envoy resolves a relative path against its working directory (the repository root under `make up`).
    descriptor: str = "gen/descriptor.binpb"
    # Token buckets per client (the module docstring says why): each signed-in user's, as sustained requests
    # per second and burst; 0 per second turns that limit off.
    rate_limit_per_second: int = 200
    rate_limit_burst: int = 400
    # Each client address's, for requests without a verified token; None: the per-user values.
    rate_limit_address_per_second: int | None = None
    rate_limit_address_burst: int | None = None
    # Buckets kept of each kind (Envoy keeps 20 by default): the least recently seen client beyond it is
    # forgotten, and starts again with a full bucket.
    rate_limit_clients: int = 10000
    # Seconds an expired access token is still accepted, for clocks that disagree (Envoy's default is 60).
    jwt_clock_skew_s: int = 2
    # Verified tokens remembered, so a client's next request skips the ES256 check: about the live tokens
    # (one per active session within the access-token TTL). 0 turns the cache off.
    jwt_cache_size: int = 10000
    # Largest request body the transcoder accepts (media uploads are the big ones); larger is 413.
    max_request_bytes: int = 8 * 1024 * 1024
    max_response_bytes: int = 16 * 1024 * 1024
    route_timeout_s: float = 30.0
    # Server-streaming responses (SSE) have no deadline, only an idle limit.
    stream_idle_timeout_s: float = 300.0
    max_connections: int = 10000
    access_log: bool = True
    # Where /healthz is answered: the local stack's health monitor (stack.health) on 127.0.0.1.
    health_port: int = 9903


@dataclass(frozen=True, slots=True, kw_only=True)
class MeshOptions:
    """Tunables of the mesh listener every service calls its peers through."""

    port: int = 10000
    admin_port: int = 9902
    route_timeout_s: float = 5.0
    num_retries: int = 2
    # Only failures where the request certainly did not run, or the peer said UNAVAILABLE (which gRPC
    # servers answer before doing work), are retried: safe for non-idempotent RPCs.
    retry_on: str = "unavailable,reset,connect-failure"
    max_connections: int = 10000


def edge(
    upstreams: Sequence[Upstream],
    *,
    options: EdgeOptions = EdgeOptions(),
    transcoded: Sequence[str] | None = None,
    streaming_paths: Sequence[str] = (),
) -> Config:
    """The edge bootstrap.

    `transcoded` lists the gRPC services the transcoder serves (default: every upstream's; each must be in the
    descriptor set). `streaming_paths` are the gRPC paths of server-streaming methods, routed without a
    deadline.
    """
    if transcoded is None:
        transcoded = [u.proto for u in upstreams]
    hcm: Config = {
        "@type": _HCM,
        "stat_prefix": "edge",
        "codec_type": "AUTO",
        "use_remote_address": True,
        "normalize_path": True,
        "merge_slashes": True,
        "path_with_escaped_slashes_action": "UNESCAPE_AND_REDIRECT",
        "stream_idle_timeout": _duration(options.stream_idle_timeout_s),
        "request_headers_timeout": "10s",
        "route_config": _edge_routes(upstreams, options, streaming_paths),
        "http_filters": [
            _strip_trusted_headers_filter(),
            _refuse_raw_grpc_filter(),
            _jwt_filter(options),
            *([_rate_limit_filter(options)] if _client_limits(options) else []),
            _transcoder_filter(transcoded, options),
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
            },
        ],
        "local_reply_config": _local_reply_config(),
    }
    if options.access_log:
        hcm["access_log"] = [_stdout_access_log()]
    clusters = [_grpc_cluster(u) for u in upstreams]
    clusters.append(_http_cluster("jwks", options.http_port))
    clusters.append(_http_cluster("health", options.health_port))
    return {
        "admin": _admin(options.admin_port),
        "static_resources": {
            "listeners": [_listener("edge_http", options.http_port, hcm)],
            "clusters": clusters,
        },
        "layered_runtime": _runtime(),
        "overload_manager": _connection_limit(options.max_connections),
    }


def mesh(upstreams: Sequence[Upstream], *, options: MeshOptions = MeshOptions()) -> Config:
    """The mesh bootstrap: one HTTP/2 listener routing each gRPC service prefix to its cluster."""
    retry_policy = {
        "retry_on": options.retry_on,
        "num_retries": options.num_retries,
        "retry_back_off": {"base_interval": "0.025s", "max_interval": "0.25s"},
        **_ANOTHER_HOST,
    }
    routes: list[Config] = [
        {
            "name": u.name,
            "match": {"prefix": u.prefix},
            "route": {
                "cluster": u.name,
                "timeout": _duration(options.route_timeout_s),
                "retry_policy": retry_policy,
            },
        }
        for u in upstreams
    ]
    # A gRPC caller gets UNIMPLEMENTED for an unknown service: Envoy turns a local 404 into grpc-status 12.
    routes.append({"name": "unknown_service", "match": {"prefix": "/"}, "direct_response": {"status": 404}})
    hcm: Config = {
        "@type": _HCM,
        "stat_prefix": "mesh",
        "codec_type": "HTTP2",
        "http2_protocol_options": {},
        "route_config": {
            "name": "mesh",
            "virtual_hosts": [{"name": "services", "domains": ["*"], "routes": routes}],
        },
        "http_filters": [
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
            }
        ],
    }
    return {
        "admin": _admin(options.admin_port),
        "static_resources": {
            "listeners": [_listener("mesh_grpc", options.port, hcm)],
            "clusters": [_grpc_cluster(u) for u in upstreams],
        },
        "layered_runtime": _runtime(),
        "overload_manager": _connection_limit(options.max_connections),
    }


def render(config: Config, *, title: str, notes: Iterable[str] = ()) -> str:
    """YAML text of `config`, opening with a comment that maps every listener and cluster."""
    resources = config["static_resources"]
    admin = config["admin"]["address"]["socket_address"]
    lines = [f"# {title}", "#", "# Generated from services/registry.toml by stack/envoy_config.py; do not edit."]
    lines += [f"# {note}" for note in notes]
    lines += ["#", f"# admin  {admin['address']}:{admin['port_value']}", "#", "# listeners"]
    served: dict[str, str] = {}
    for listener in resources["listeners"]:
        address = listener["address"]["socket_address"]
        hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
        codec = "HTTP/2 only" if hcm["codec_type"] == "HTTP2" else "HTTP/1.1 and HTTP/2"
        lines.append(f"#   {listener['name']:<14} {address['address']}:{address['port_value']:<6} {codec}")
        chain = " -> ".join(f["name"].rpartition(".")[2] for f in hcm["http_filters"])
        lines.append(f"#     filters: {chain}")
        for host in hcm["route_config"]["virtual_hosts"]:
            for route in host["routes"]:
                if "route" in route and "prefix" in route["match"]:
                    served[route["route"]["cluster"]] = f"{route['match']['prefix']}*"
    lines += ["#", "# clusters"]
    for cluster in resources["clusters"]:
        endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
        address = endpoint["address"]["socket_address"]
        if cluster["name"] == "jwks":
            what = f"this listener, for jwt_authn to fetch {JWKS_PATH}"
        elif cluster["name"] == "health":
            what = f"{HEALTH_PATH}: the local stack's report of every process (HTTP/1.1)"
        else:
            what = f"{served.get(cluster['name'], '(no route)')} (HTTP/2)"
        lines.append(f"#   {cluster['name']:<14} {address['address']}:{address['port_value']:<6} {what}")
    header = "\n".join(line.rstrip() for line in lines)
    body = yaml.safe_dump(config, sort_keys=False, default_flow_style=False, width=110)
    return f"{header}\n\n{body}"


# --- edge pieces --------------------------------------------------------------------------------------------


def _edge_routes(upstreams: Sequence[Upstream], options: EdgeOptions, streaming_paths: Sequence[str]) -> Config:
    # The transcoder rewrites a REST request into `POST /<service>/<method>` with content-type
    # application/grpc and clears the route cache, so these routes see the transcoded request. Raw gRPC
    # from clients never gets here (the rbac filter refuses it), and requiring the gRPC content type keeps a
    # plain HTTP request for a gRPC path from reaching a service.
    is_grpc = [{"name": "content-type", "string_match": {"prefix": "application/grpc"}}]
    by_prefix = {u.prefix: u for u in upstreams}
    routes: list[Config] = []
    for path in streaming_paths:
        owner = next((u for prefix, u in by_prefix.items() if path.startswith(prefix)), None)
        if owner is None:
            raise ValueError(f"streaming path {path} belongs to no upstream")
        routes.append(
            {
                "name": f"{owner.name}_stream_{path.rsplit('/', 1)[1]}",
                "match": {"path": path, "headers": is_grpc},
                "route": {
                    "cluster": owner.name,
                    "timeout": "0s",
                    "idle_timeout": _duration(options.stream_idle_timeout_s),
                },
            }
        )
    routes += [
        {
            "name": u.name,
            "match": {"prefix": u.prefix, "headers": is_grpc},
            "route": {
                "cluster": u.name,
                "timeout": _duration(options.route_timeout_s),
                # Only what certainly did not reach a service is retried (safe for writes), on another
                # process of it: one that has just died refuses the connection until Envoy notices.
                "retry_policy": {"retry_on": "connect-failure,refused-stream", "num_retries": 2, **_ANOTHER_HOST},
            },
        }
        for u in upstreams
    ]
    routes.append(
        {
            "name": "health",
            "match": {"path": HEALTH_PATH, "headers": [{"name": ":method", "string_match": {"exact": "GET"}}]},
            "route": {"cluster": "health", "timeout": "2s"},
            # The transcoder would refuse a path that maps to no gRPC method before the router saw it.
            "typed_per_filter_config": {
                "envoy.filters.http.grpc_json_transcoder": {
                    "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
                    "disabled": True,
                }
            },
        }
    )
    routes.append(
        {
            "name": "not_found",
            "match": {"prefix": "/"},
            "direct_response": {"status": 404, "body": {"inline_string": "no such route"}},
        }
    )
    return {"name": "edge", "virtual_hosts": [{"name": "chirp", "domains": ["*"], "routes": routes}]}


def _strip_trusted_headers_filter() -> Config:
    return {
        "name": "envoy.filters.http.header_mutation",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
            # Responses keep their grpc-* headers: a refused raw gRPC client needs grpc-status.
            "mutations": {"request_mutations": [{"remove": USER_ID_HEADER}]},
        },
    }


def _refuse_raw_grpc_filter() -> Config:
    return {
        "name": "envoy.filters.http.rbac",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": {
                "action": "DENY",
                "policies": {
                    "raw_grpc_from_clients": {
                        "permissions": [
                            {"header": {"name": "content-type", "string_match": {"prefix": "application/grpc"}}}
                        ],
                        "principals": [{"any": True}],
                    }
                },
            },
        },
    }


def _jwt_filter(options: EdgeOptions) -> Config:
    def method_is(methods: str) -> list[Config]:
        return [{"name": ":method", "string_match": {"safe_regex": {"regex": methods}}}]

    verified = {"provider_name": "chirp"}
    # A present token must verify, an absent one is fine: reads are open, but never with a forged identity.
    optional = {"requires_any": {"requirements": [verified, {"allow_missing": {}}]}}
    return {
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {
                "chirp": {
                    "issuer": JWT_ISSUER,
                    # An expired token is refused this soon after its `exp` (and Envoy's 60 s would let a token
                    # outlive its TTL by a minute); 0 would mean that default, so the setting is at least 1.
                    "clock_skew_seconds": options.jwt_clock_skew_s,
                    # Default token locations: `Authorization: Bearer` and the `access_token` query parameter
                    # (EventSource clients of the SSE stream cannot set headers).
                    "forward": False,
                    "claim_to_headers": [{"header_name": USER_ID_HEADER, "claim_name": "sub"}],
                    # A cache hit skips only the signature check: exp (with the skew above), issuer and audience
                    # are checked on every request. Signing keys stay in the JWKS until their last token has
                    # expired (the auth service's rotation), so no cached token outlives its key.
                    **(
                        {"jwt_cache_config": {"jwt_cache_size": options.jwt_cache_size}}
                        if options.jwt_cache_size
                        else {}
                    ),
                    "remote_jwks": {
                        "http_uri": {
                            "uri": f"http://{_LOOPBACK}:{options.http_port}{JWKS_PATH}",
                            "cluster": "jwks",
                            "timeout": "2s",
                        },
                        # Short, so a rotated signing key is picked up within a minute.
                        "cache_duration": "60s",
                        # The edge fetches from itself, and auth may start after it: never block the
                        # listener on the first fetch, and retry a failed one soon.
                        "async_fetch": {"fast_listener": True, "failed_refetch_duration": "1s"},
                        "retry_policy": {
                            "num_retries": 3,
                            "retry_back_off": {"base_interval": "0.2s", "max_interval": "1s"},
                        },
                    },
                }
            },
            "rules": [
                {"match": {"path": HEALTH_PATH}},
                {"match": {"prefix": "/.well-known/"}},
                {"match": {"path": "/v1/accounts", "headers": method_is("POST")}},
                # /v1/sessions, /v1/sessions:refresh, /v1/sessions:revoke: the refresh token is the credential.
                {"match": {"prefix": "/v1/sessions"}},
                {"match": {"prefix": "/", "headers": method_is("POST|PUT|PATCH|DELETE")}, "requires": verified},
                {"match": {"prefix": "/"}, "requires": optional},
            ],
        },
    }


@dataclass(frozen=True, slots=True)
class _ClientLimit:
    """One kind of client the edge limits: how a request names its client, and each client's bucket."""

    actions: list[Config]  # rate-limit actions that build the request's descriptor (none built: not this kind)
    entries: list[Config]  # the descriptor they build; an empty value means "a bucket per value"
    per_second: int
    burst: int


def _client_limits(options: EdgeOptions) -> list[_ClientLimit]:
    limits = []
    if options.rate_limit_per_second > 0:
        # The header is there only when jwt_authn verified a token: header_mutation removed any client's copy.
        user = [{"request_headers": {"header_name": USER_ID_HEADER, "descriptor_key": "user_id"}}]
        entries = [{"key": "user_id", "value": ""}]
        limits.append(_ClientLimit(user, entries, options.rate_limit_per_second, options.rate_limit_burst))
    per_second = options.rate_limit_address_per_second
    burst = options.rate_limit_address_burst
    per_second = options.rate_limit_per_second if per_second is None else per_second
    burst = options.rate_limit_burst if burst is None else burst
    if per_second > 0:
        anonymous = {
            "descriptor_key": "client",
            "descriptor_value": "anonymous",
            "headers": [
                # A signed-in user is limited as that user, from wherever they come.
                {"name": USER_ID_HEADER, "present_match": False},
                {"name": ":path", "string_match": {"exact": HEALTH_PATH}, "invert_match": True},
            ],
        }
        address = {"masked_remote_address": {"v4_prefix_mask_len": 32, "v6_prefix_mask_len": 64}}
        entries = [{"key": "client", "value": "anonymous"}, {"key": "masked_remote_address", "value": ""}]
        limits.append(_ClientLimit([{"header_value_match": anonymous}, address], entries, per_second, burst))
    return limits


def _rate_limit_filter(options: EdgeOptions) -> Config:
    enabled = {"default_value": {"numerator": 100, "denominator": "HUNDRED"}}
    limits = _client_limits(options)
    return {
        "name": "envoy.filters.http.local_ratelimit",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
            "stat_prefix": "edge_rate_limit",
            # No token bucket of the filter's own: it would be one bucket for all. A request that builds no
            # descriptor (/healthz, or a kind of client whose limit is off) is not limited.
            "rate_limits": [{"actions": limit.actions} for limit in limits],
            "descriptors": [
                {
                    "entries": limit.entries,
                    "token_bucket": {
                        "max_tokens": limit.burst,
                        "tokens_per_fill": limit.per_second,
                        "fill_interval": "1s",
                    },
                }
                for limit in limits
            ],
            "always_consume_default_token_bucket": False,
            "max_dynamic_descriptors": options.rate_limit_clients,
            "local_rate_limit_per_downstream_connection": False,
            "filter_enabled": {**enabled, "runtime_key": "edge_rate_limit.enabled"},
            "filter_enforced": {**enabled, "runtime_key": "edge_rate_limit.enforced"},
            "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
            # Every bucket gains at least one token a second, so a refused client may try again in one
            # (RFC 9110 10.2.3); x-ratelimit-reset says the same in whole seconds, rounded down.
            "response_headers_to_add": [
                {"header": {"key": "retry-after", "value": "1"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
            ],
        },
    }


def _transcoder_filter(services: Sequence[str], options: EdgeOptions) -> Config:
    return {
        "name": "envoy.filters.http.grpc_json_transcoder",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
            "proto_descriptor": options.descriptor,
            "services": list(services),
            "print_options": {
                "add_whitespace": False,
                "always_print_primitive_fields": True,
                "always_print_enums_as_ints": False,
                "preserve_proto_field_names": True,
                "stream_sse_style_delimited": True,
            },
            "convert_grpc_status": True,
            "ignore_unknown_query_parameters": True,
            # A query string is form-encoded by browsers and most HTTP clients: `q=open+source` means "open source"
            # (a literal plus is `%2B`).
            "query_param_unescape_plus": True,
            "case_insensitive_enum_parsing": True,
            # An unmapped path is answered 404 here, not passed on as if it were gRPC.
            "request_validation_options": {"reject_unknown_method": True},
            "max_request_body_size": options.max_request_bytes,
            "max_response_body_size": options.max_response_bytes,
        },
    }


def _local_reply_config() -> Config:
    def body(code: int) -> Config:
        return {
            "json_format": {"code": code, "message": "%LOCAL_REPLY_BODY%", "details": []},
            "content_type": "application/json",
        }

    def status_is(status: int, op: str = "EQ") -> Config:
        return {
            "status_code_filter": {
                "comparison": {"op": op, "value": {"default_value": status, "runtime_key": "local_reply.none"}}
            }
        }

    mappers: list[Config] = []
    mappers += [
        {"filter": status_is(status), "body_format_override": body(code)} for status, code in HTTP_TO_GRPC.items()
    ]
    mappers.append({"filter": status_is(400, "GE"), "body_format_override": body(_UNKNOWN)})
    return {"mappers": mappers}


def _stdout_access_log() -> Config:
    # The path without its query string: an SSE client may carry its token as ?access_token=.
    line = (
        "[%START_TIME%] %PATH(NQ)% %RESPONSE_CODE% %RESPONSE_FLAGS% "
        "%GRPC_STATUS% %DURATION%ms %BYTES_RECEIVED%>%BYTES_SENT% %UPSTREAM_CLUSTER%\n"
    )
    return {
        "name": "envoy.access_loggers.stdout",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
            "log_format": {"text_format_source": {"inline_string": line}},
        },
    }


def _http_cluster(name: str, port: int) -> Config:
    """A plain HTTP/1.1 upstream on 127.0.0.1: the edge itself (for its JWKS), the stack's health monitor."""
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": _endpoint(name, port),
    }


# --- shared pieces ------------------------------------------------------------------------------------------


def _grpc_cluster(upstream: Upstream) -> Config:
    cluster: Config = {
        "name": upstream.name,
        "type": "STATIC",
        "connect_timeout": "1s",
        # The process with the fewest requests in flight (of two picked at random): a slow call on one process
        # does not queue the next calls behind it, as round robin would.
        "lb_policy": "LEAST_REQUEST",
        "typed_extension_protocol_options": _HTTP2_UPSTREAM,
        "load_assignment": _endpoint(upstream.name, *upstream.ports),
        "circuit_breakers": {
            "thresholds": [
                {
                    "priority": "DEFAULT",
                    "max_connections": 1024,
                    "max_pending_requests": 1024,
                    "max_requests": 1024,
                    "max_retries": 16,
                }
            ]
        },
        # With one local host this only matters once a service runs replicas (Kubernetes); ejecting the
        # only host puts the cluster in panic mode, which still routes to it.
        "outlier_detection": {
            "consecutive_5xx": 5,
            "consecutive_gateway_failure": 3,
            "interval": "5s",
            "base_ejection_time": "10s",
            "max_ejection_percent": 50,
        },
    }
    if len(upstream.ports) > 1:
        # Several processes: a dead or not yet serving one is taken out of the rotation within two seconds,
        # rather than after it failed real requests. (With one process there is nowhere else to send them.)
        cluster["health_checks"] = [
            {
                "timeout": "1s",
                "interval": "1s",
                "no_traffic_interval": "1s",
                "unhealthy_threshold": 2,
                "healthy_threshold": 1,
                "grpc_health_check": {},
            }
        ]
    return cluster


def _endpoint(cluster: str, *ports: int) -> Config:
    endpoints = [{"endpoint": {"address": {"socket_address": {"address": _LOOPBACK, "port_value": p}}}} for p in ports]
    return {"cluster_name": cluster, "endpoints": [{"lb_endpoints": endpoints}]}


# A retry goes to another host of the cluster than the one that failed, where there is one.
_ANOTHER_HOST: Config = {
    "retry_host_predicate": [
        {
            "name": "envoy.retry_host_predicates.previous_hosts",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
            },
        }
    ],
    "host_selection_retry_max_attempts": 3,
}


def _listener(name: str, port: int, hcm: Config) -> Config:
    return {
        "name": name,
        "address": {"socket_address": {"address": _LOOPBACK, "port_value": port}},
        "filter_chains": [
            {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
        ],
    }


def _admin(port: int) -> Config:
    return {"address": {"socket_address": {"address": _LOOPBACK, "port_value": port}}}


def _runtime() -> Config:
    # Admin-settable runtime only; without a layer Envoy warns at every start.
    return {"layers": [{"name": "admin", "admin_layer": {}}]}


def _connection_limit(max_connections: int) -> Config:
    # A bound on open downstream connections, so a connection flood cannot exhaust file descriptors.
    return {
        "resource_monitors": [
            {
                "name": "envoy.resource_monitors.global_downstream_max_connections",
                "typed_config": {
                    "@type": "type.googleapis.com/"
                    "envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig",
                    "max_active_downstream_connections": max_connections,
                },
            }
        ]
    }


def _duration(seconds: float) -> str:
    return f"{seconds:g}s"
