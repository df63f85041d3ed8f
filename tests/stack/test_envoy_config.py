"""The generated Envoy configs: accepted by Envoy itself, complete with respect to the registry, and identical
to the committed renderings."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from services.kit import registry
from stack import descriptors, envoy_config, render, servers
from stack.settings import REPO_ROOT
from tests.stack.protos import build_descriptor

UPSTREAMS = [envoy_config.Upstream(e.name, e.proto, (e.port,)) for e in registry.services()]


@pytest.fixture(scope="module")
def descriptor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("protos")
    return build_descriptor(work / "test.binpb", work)


def envoy_validate(path: Path) -> None:
    result = subprocess.run(
        [servers.envoy_binary(), "--mode", "validate", "--config-path", str(path), "--log-level", "error"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert result.returncode == 0, f"envoy rejected {path}:\n{result.stdout}\n{result.stderr}"


def write(tmp_path: Path, name: str, config: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(envoy_config.render(config, title=name))
    return path


def routes(config: dict[str, Any]) -> list[dict[str, Any]]:
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    result: list[dict[str, Any]] = hcm["route_config"]["virtual_hosts"][0]["routes"]
    return result


def http_filter(config: dict[str, Any], name: str) -> dict[str, Any]:
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    found: dict[str, Any] = next(f["typed_config"] for f in hcm["http_filters"] if f["name"] == name)
    return found


def test_edge_and_mesh_pass_envoy_validate(tmp_path: Path, descriptor: Path) -> None:
    info = descriptors.load(descriptor)
    protos = [u.proto for u in UPSTREAMS]
    edge = envoy_config.edge(
        UPSTREAMS,
        options=envoy_config.EdgeOptions(descriptor=str(descriptor)),
        streaming_paths=info.streaming_paths_of(protos),
    )
    envoy_validate(write(tmp_path, "edge.yaml", edge))
    envoy_validate(write(tmp_path, "mesh.yaml", envoy_config.mesh(UPSTREAMS)))


def test_the_placeholder_descriptor_lets_the_edge_start_before_make_gen(tmp_path: Path) -> None:
    placeholder = tmp_path / "placeholder.binpb"
    placeholder.write_bytes(descriptors.placeholder(u.proto for u in UPSTREAMS))
    edge = envoy_config.edge(UPSTREAMS, options=envoy_config.EdgeOptions(descriptor=str(placeholder)))
    envoy_validate(write(tmp_path, "edge.yaml", edge))


@pytest.mark.skipif(
    not (REPO_ROOT / "gen" / "descriptor.binpb").is_file(), reason="gen/descriptor.binpb not generated yet"
)
def test_committed_configs_pass_envoy_validate_with_the_real_descriptor() -> None:
    envoy_validate(envoy_config.EDGE_CONFIG_PATH)
    envoy_validate(envoy_config.MESH_CONFIG_PATH)


def test_committed_configs_match_the_generator() -> None:
    for path, text in render.default_configs().items():
        assert path.is_file(), f"{path} missing; run `python -m stack render`"
        assert path.read_text() == text, f"{path} drifted from the registry; run `python -m stack render`"


def test_every_registry_service_is_a_cluster_a_route_and_a_transcoded_service() -> None:
    edge = yaml.safe_load(envoy_config.EDGE_CONFIG_PATH.read_text())
    mesh = yaml.safe_load(envoy_config.MESH_CONFIG_PATH.read_text())
    transcoder = http_filter(edge, "envoy.filters.http.grpc_json_transcoder")
    for config in (edge, mesh):
        clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
        routed = {r["match"].get("prefix"): r["route"]["cluster"] for r in routes(config) if "route" in r}
        for e in registry.services():
            endpoint = clusters[e.name]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
            assert endpoint["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": e.port}
            assert routed[f"/{e.proto}/"] == e.name
    assert transcoder["services"] == [e.proto for e in registry.services()]
    # Workers serve no API: nothing routes to them.
    workers = {e.name for e in registry.entries() if e.kind == "worker"}
    assert workers.isdisjoint(c["name"] for c in edge["static_resources"]["clusters"])


def test_edge_filters_run_in_the_documented_order() -> None:
    edge = envoy_config.edge(UPSTREAMS)
    hcm = edge["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    assert [f["name"].rpartition(".")[2] for f in hcm["http_filters"]] == [
        "header_mutation",
        "rbac",
        "jwt_authn",
        "local_ratelimit",
        "grpc_json_transcoder",
        "router",
    ]
    no_limit = envoy_config.edge(UPSTREAMS, options=envoy_config.EdgeOptions(rate_limit_per_second=0))
    assert "envoy.filters.http.local_ratelimit" not in str(no_limit)


def test_server_streaming_methods_get_a_route_without_deadline(descriptor: Path) -> None:
    info = descriptors.load(descriptor)
    streams = info.streaming_paths_of(u.proto for u in UPSTREAMS)
    assert streams == ("/chirp.auth.v1.AuthService/StreamNotifications",)
    edge = envoy_config.edge(UPSTREAMS, streaming_paths=streams)
    names = [r["name"] for r in routes(edge)]
    stream = next(r for r in routes(edge) if r["match"].get("path") == streams[0])
    assert stream["route"]["timeout"] == "0s"
    assert names.index(stream["name"]) < names.index("auth")  # before the service's prefix route


def test_every_envoy_error_status_has_a_json_body_with_a_grpc_code() -> None:
    edge = envoy_config.edge(UPSTREAMS)
    hcm = edge["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    mappers = hcm["local_reply_config"]["mappers"]
    mapped = {}
    for mapper in mappers:
        comparison = mapper["filter"].get("status_code_filter", {}).get("comparison")
        if comparison and comparison["op"] == "EQ" and comparison["value"]["default_value"] >= 400:
            body = mapper["body_format_override"]
            assert body["content_type"] == "application/json"
            mapped[comparison["value"]["default_value"]] = body["json_format"]["code"]
    assert {400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 429: 8, 503: 14}.items() <= mapped.items()
    catch_all = [m for m in mappers if "GE" in str(m["filter"])]
    assert [m["body_format_override"]["json_format"]["code"] for m in catch_all] == [2]  # UNKNOWN


def test_mesh_retries_only_what_is_safe_to_retry_and_is_http2_only() -> None:
    mesh = envoy_config.mesh(UPSTREAMS)
    hcm = mesh["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["codec_type"] == "HTTP2"
    for route in routes(mesh):
        if "route" in route:
            assert route["route"]["retry_policy"]["retry_on"] == "unavailable,reset,connect-failure"
    for cluster in mesh["static_resources"]["clusters"]:
        assert "outlier_detection" in cluster and "circuit_breakers" in cluster


def test_healthz_goes_to_the_stack_health_monitor_past_the_transcoder() -> None:
    edge = envoy_config.edge(UPSTREAMS, options=envoy_config.EdgeOptions(health_port=19903))
    health = next(r for r in routes(edge) if r["name"] == "health")
    assert health["match"]["path"] == "/healthz" and health["route"]["cluster"] == "health"
    # Without this the transcoder answers 404 for a path that is no gRPC method.
    assert health["typed_per_filter_config"]["envoy.filters.http.grpc_json_transcoder"]["disabled"] is True
    clusters = {c["name"]: c for c in edge["static_resources"]["clusters"]}
    endpoint = clusters["health"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert endpoint["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 19903}


def test_a_service_of_several_processes_is_one_health_checked_cluster_of_their_endpoints(tmp_path: Path) -> None:
    several = [envoy_config.Upstream(u.name, u.proto, (u.ports[0], u.ports[0] + 100)) for u in UPSTREAMS]
    for config, name in ((envoy_config.mesh(several), "mesh.yaml"), (envoy_config.edge(several), "edge.yaml")):
        cluster = next(c for c in config["static_resources"]["clusters"] if c["name"] == "tweet")
        endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
        tweet = registry.entry("tweet").port
        assert [e["endpoint"]["address"]["socket_address"]["port_value"] for e in endpoints] == [tweet, tweet + 100]
        assert cluster["lb_policy"] == "LEAST_REQUEST"
        assert "grpc_health_check" in cluster["health_checks"][0]
        route = next(r for r in routes(config) if r["name"] == "tweet")
        predicate = route["route"]["retry_policy"]["retry_host_predicate"][0]["name"]
        assert predicate == "envoy.retry_host_predicates.previous_hosts"  # a retry goes to the other process
        envoy_validate(write(tmp_path, name, config))
    one = next(c for c in envoy_config.mesh(UPSTREAMS)["static_resources"]["clusters"] if c["name"] == "tweet")
    assert "health_checks" not in one  # nowhere else to send requests: not worth the probes

