"""The edge and the mesh as a client sees them: real Envoys started by the supervisor, with the fake service
(tests.stack.fake_service) in the `auth` slot serving the test RPCs of tests.stack.protos."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import ec

from services.kit import registry
from stack import Settings, Stack
from tests.stack.protos import FAKE_SERVICE, build_descriptor

PROTO = registry.entry(FAKE_SERVICE).proto
KEY = ec.generate_private_key(ec.SECP256R1())


def token(**claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": "chirp", "sub": "1234", "iat": now, "exp": now + 300, **claims}
    return jwt.encode(payload, KEY, algorithm="ES256", headers={"kid": "test-key"})


def edge_settings(data_dir: Path, descriptor: Path, **changes: Any) -> Settings:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key()))
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "fake_jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "test-key", "alg": "ES256"}]}))
    return Settings(
        data_dir=data_dir,
        free_ports=True,
        infra=frozenset(),
        services=(FAKE_SERVICE,),
        modules={FAKE_SERVICE: "tests.stack.fake_service"},
        descriptor=descriptor,
        **changes,
    )


@pytest.fixture(scope="module")
def descriptor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("protos")
    return build_descriptor(work / "test.binpb", work)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def edge(tmp_path_factory: pytest.TempPathFactory, descriptor: Path) -> AsyncIterator[Stack]:
    settings = edge_settings(tmp_path_factory.mktemp("edge"), descriptor, max_request_bytes=4096)
    async with Stack(settings) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def client(edge: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=edge.edge_url, timeout=10) as c:
        yield c


def assert_error(reply: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json"
    body: dict[str, Any] = reply.json()
    assert body.keys() == {"code", "message", "details"}
    assert body["code"] == code and body["details"] == []
    return body


async def test_a_write_without_token_is_401_json(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.post("/v1/tweets", json={"text": "hi"}), 401, 16)
    assert body["message"] == "Jwt is missing"


async def test_an_unknown_path_is_404_json(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v2/nothing/here"), 404, 5)


async def test_a_malformed_json_body_is_400_json(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/accounts", content=b'{"text": ', headers={"content-type": "application/json"})
    assert_error(reply, 400, 3)


async def test_a_body_over_the_limit_is_413_json(client: httpx.AsyncClient) -> None:
    assert_error(await client.post("/v1/accounts", json={"text": "x" * 5000}), 413, 8)


async def test_public_writes_need_no_token(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/accounts", json={"text": "hello"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"text": "hello", "user_id": ""}  # every field printed, proto names kept


async def test_a_valid_token_becomes_the_user_id_header(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/tweets", json={}, headers={"authorization": f"Bearer {token(sub='42')}"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["user_id"] == "42"


async def test_a_verified_token_is_remembered_and_its_next_request_skips_the_signature_check(
    edge: Stack, client: httpx.AsyncClient
) -> None:
    async def hits() -> int:
        async with httpx.AsyncClient() as admin:
            stats = await admin.get(f"http://127.0.0.1:{edge.ports.edge_admin}/stats?filter=jwt_cache_hit$")
        return sum(int(line.rpartition(": ")[2]) for line in stats.text.splitlines() if line.strip())

    bearer = {"authorization": f"Bearer {token(sub='43')}"}
    before = await hits()
    for _ in range(3):
        reply = await client.post("/v1/tweets", json={}, headers=bearer)
        assert reply.json()["user_id"] == "43"
    assert await hits() == before + 2  # the first verified it, the next two found it
    head, _, signature = bearer["authorization"].rpartition(".")
    flipped = signature[:10] + ("B" if signature[10] == "A" else "A") + signature[11:]
    tampered = {"authorization": f"{head}.{flipped}"}  # another signature: not the remembered token
    assert (await client.post("/v1/tweets", json={}, headers=tampered)).status_code == 401


async def test_a_client_cannot_forge_the_user_id_header(client: httpx.AsyncClient) -> None:
    forged = {"x-chirp-user-id": "666"}
    assert (await client.get("/v1/me", headers=forged)).json()["user_id"] == ""
    reply = await client.get("/v1/me", headers={**forged, "authorization": f"Bearer {token(sub='7')}"})
    assert reply.json()["user_id"] == "7"


@pytest.mark.parametrize(
    ("bearer", "message"),
    [
        ("not-a-jwt", "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"),
        (token(iss="somebody-else"), "Jwt issuer is not configured"),
        (token(exp=int(time.time()) - 3600), "Jwt is expired"),
    ],
)
async def test_a_read_with_a_bad_token_is_401_not_anonymous(
    client: httpx.AsyncClient, bearer: str, message: str
) -> None:
    body = assert_error(await client.get("/v1/me", headers={"authorization": f"Bearer {bearer}"}), 401, 16)
    assert body["message"] == message


async def test_a_grpc_error_becomes_json_status_with_the_http_status(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.get("/v1/tweets/5"), 404, 5)
    assert body["message"] == "tweet not found"


async def test_a_bad_path_parameter_is_400_json(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/v1/tweets/abc"), 400, 3)


async def test_the_jwks_is_public_and_served_through_the_transcoder(client: httpx.AsyncClient) -> None:
    reply = await client.get("/.well-known/jwks.json")
    assert reply.status_code == 200 and reply.json()["keys"][0]["kid"] == "test-key"


async def test_server_streams_arrive_as_server_sent_events(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/v1/notifications:stream") as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        events = [line async for line in reply.aiter_lines() if line]
    assert [json.loads(e.removeprefix("data: "))["text"] for e in events] == ["1", "2", "3"]


async def test_healthz_is_200_json_listing_every_process_when_all_serve(client: httpx.AsyncClient) -> None:
    reply = await client.get("/healthz")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status"] == "SERVING"
    assert {name: part["status"] for name, part in body["parts"].items()} == {
        "edge": "SERVING",
        "mesh": "SERVING",
        FAKE_SERVICE: "SERVING",
    }


async def test_raw_grpc_from_outside_is_refused(edge: Stack) -> None:
    async with grpc.aio.insecure_channel(edge.edge_url.removeprefix("http://")) as channel:
        call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(f"/{PROTO}/CreateAccount")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(b"", timeout=5)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_query_strings_are_form_decoded(client: httpx.AsyncClient) -> None:
    # Browsers and most clients write a space in a query string as `+`; a plus itself is `%2B`.
    reply = await client.get("/v1/search/tweets?text=open+source%2Bmore%20words")
    assert reply.status_code == 200, reply.text
    assert reply.json()["text"] == "open source+more words"


async def test_the_mesh_routes_grpc_by_service_and_refuses_unknown_services(edge: Stack) -> None:
    async with grpc.aio.insecure_channel(edge.mesh_addr) as channel:
        echo: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(f"/{PROTO}/CreateAccount")
        assert await echo(b"\x0a\x02hi", timeout=5) == b"\x0a\x02hi"
        unknown: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary("/chirp.no.v1.NoService/Get")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await unknown(b"", timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_rate_limit_answers_429_json_with_headers(
    tmp_path: Path, descriptor: Path
) -> None:
    settings = edge_settings(tmp_path, descriptor, rate_limit_per_second=1, rate_limit_burst=1)
    async with Stack(settings) as small, httpx.AsyncClient(base_url=small.edge_url, timeout=10) as client:
        # One token a second (the edge's own JWKS fetch may take one): a quick burst must hit the limit.
        replies = [await client.get("/v1/me") for _ in range(4)]
        assert {r.status_code for r in replies} <= {200, 429}
        limited = next(r for r in replies if r.status_code == 429)
        assert_error(limited, 429, 8)
        assert limited.headers["x-ratelimit-limit"] == "1"
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert limited.headers["retry-after"] == "1"  # the bucket's fill interval

