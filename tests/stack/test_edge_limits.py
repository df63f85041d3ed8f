"""The edge's protections: rate limits per signed-in user and per client address, and the token clock skew.

Real Envoys started by the supervisor, with the fake service (tests.stack.fake_service) behind them and tokens
signed with tests.stack.test_edge's key. The clients connect from distinct loopback addresses (127.0.0.2 and
up, to the edge on 127.0.0.1), each test from its own, so the tests share one stack without sharing a bucket;
127.0.0.1 is left to the edge's own JWKS fetch. Token expiry with the real auth service is in
tests/e2e/test_token_expiry.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from stack import Stack, envoy_config
from tests.stack.test_edge import assert_error, descriptor, edge_settings, token  # noqa: F401  (a fixture)
from tests.stack.test_envoy_config import UPSTREAMS, envoy_validate, http_filter, write

# Each client's bucket: BURST requests at once, then one a second.
BURST = 3


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def limited(tmp_path_factory: pytest.TempPathFactory, descriptor: Path) -> AsyncIterator[Stack]:  # noqa: F811
    settings = edge_settings(
        tmp_path_factory.mktemp("limits"), descriptor, rate_limit_per_second=1, rate_limit_burst=BURST
    )
    async with Stack(settings) as running:
        yield running


def client_from(edge: Stack, address: str) -> httpx.AsyncClient:
    """A client whose connections come from `address` (any 127.x.y.z reaches the edge on 127.0.0.1)."""
    return httpx.AsyncClient(
        base_url=edge.edge_url, transport=httpx.AsyncHTTPTransport(local_address=address), timeout=10
    )


def bearer(user_id: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token(sub=user_id)}"}


async def exhaust(send: Callable[[int], Awaitable[httpx.Response]]) -> httpx.Response:
    """Call `send(0)`, `send(1)`, … until the edge refuses one; return the refusal.

    A full bucket lets BURST through and gains a token a second, so the refusal comes within BURST + 2
    requests however slow the machine is (unless the requests were not spending one bucket).
    """
    for n in range(BURST + 2):
        reply = await send(n)
        if reply.status_code == 429:
            return reply
        assert reply.status_code == 200, reply.text
    raise AssertionError(f"no 429 after {BURST + 2} requests: the requests did not share a bucket")


def assert_refused(reply: httpx.Response) -> None:
    body = assert_error(reply, 429, 8)  # the JSON google.rpc.Status of every local reply, RESOURCE_EXHAUSTED
    assert body["message"] == "local_rate_limited"
    assert reply.headers["retry-after"] == "1"
    assert reply.headers["x-ratelimit-limit"] == str(BURST)
    assert reply.headers["x-ratelimit-remaining"] == "0"
    assert int(reply.headers["x-ratelimit-reset"]) in (0, 1)


def assert_fresh_bucket(reply: httpx.Response, user_id: str = "") -> None:
    """Let through by a bucket nobody else spent: one request taken from a full one."""
    assert reply.status_code == 200, reply.text
    assert reply.json()["user_id"] == user_id
    assert reply.headers["x-ratelimit-limit"] == str(BURST)
    assert reply.headers["x-ratelimit-remaining"] == str(BURST - 1)


async def test_a_user_who_spends_their_quota_does_not_throttle_another_user(limited: Stack) -> None:
    alice, bob = bearer("1001"), bearer("1002")
    async with client_from(limited, "127.0.0.2") as here, client_from(limited, "127.0.0.3") as there:
        # Alice switches address at every request: a user is limited as that user, from wherever.
        clients = (here, there)
        assert_refused(await exhaust(lambda n: clients[n % 2].get("/v1/me", headers=alice)))
        # Bob, at the same address, has a full bucket of his own, and so has the address for anonymous reads.
        assert_fresh_bucket(await here.get("/v1/me", headers=bob), "1002")
        assert_fresh_bucket(await here.get("/v1/me"))


async def test_an_address_that_spends_its_quota_does_not_throttle_another_and_cannot_hide_behind_x_forwarded_for(
    limited: Stack,
) -> None:
    async with client_from(limited, "127.0.0.4") as noisy, client_from(limited, "127.0.0.5") as quiet:

        def spoofing(n: int) -> Awaitable[httpx.Response]:
            # Every request claims another origin, the quiet client's first: were X-Forwarded-For believed,
            # each would spend another address's bucket and the noisy client would never be refused.
            return noisy.get("/v1/me", headers={"x-forwarded-for": f"127.0.0.{5 if n == 0 else 100 + n}"})

        assert_refused(await exhaust(spoofing))
        assert_fresh_bucket(await quiet.get("/v1/me"))
        # A signed-in user at the noisy address is limited as that user, not with the address.
        assert_fresh_bucket(await noisy.get("/v1/me", headers=bearer("1003")), "1003")
        # Probes are never limited (whatever the supervisor's health report says).
        assert (await noisy.get("/healthz")).status_code != 429


async def test_a_refused_client_is_let_through_after_retry_after(limited: Stack) -> None:
    async with client_from(limited, "127.0.0.6") as client:
        refused = await exhaust(lambda _: client.get("/v1/me"))
        assert_refused(refused)
        # Waiting as told is what is tested here: the bucket must have a token again by then.
        await asyncio.sleep(float(refused.headers["retry-after"]))
        assert (await client.get("/v1/me")).status_code == 200


# --- configuration -------------------------------------------------------------------------------------------


def _limits(options: envoy_config.EdgeOptions) -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
    """(descriptor entries, token bucket) of each client limit the edge config carries."""
    limiter = http_filter(envoy_config.edge(UPSTREAMS, options=options), "envoy.filters.http.local_ratelimit")
    assert "token_bucket" not in limiter  # no bucket shared by everyone
    assert limiter["always_consume_default_token_bucket"] is False
    assert limiter["max_dynamic_descriptors"] == options.rate_limit_clients
    assert len(limiter["rate_limits"]) == len(limiter["descriptors"])
    return [(d["entries"], d["token_bucket"]) for d in limiter["descriptors"]]


def _bucket(per_second: int, burst: int) -> dict[str, Any]:
    return {"max_tokens": burst, "tokens_per_fill": per_second, "fill_interval": "1s"}


USER = [{"key": "user_id", "value": ""}]
ADDRESS = [{"key": "client", "value": "anonymous"}, {"key": "masked_remote_address", "value": ""}]


def test_each_user_and_each_address_get_a_bucket_and_addresses_default_to_the_user_limits() -> None:
    options = envoy_config.EdgeOptions(rate_limit_per_second=7, rate_limit_burst=9)
    assert _limits(options) == [(USER, _bucket(7, 9)), (ADDRESS, _bucket(7, 9))]
    options = envoy_config.EdgeOptions(rate_limit_address_per_second=3, rate_limit_address_burst=4)
    assert _limits(options) == [(USER, _bucket(200, 400)), (ADDRESS, _bucket(3, 4))]
    assert _limits(envoy_config.EdgeOptions(rate_limit_address_per_second=0)) == [(USER, _bucket(200, 400))]
    assert _limits(envoy_config.EdgeOptions(rate_limit_per_second=0, rate_limit_address_per_second=5)) == [
        (ADDRESS, _bucket(5, 400))
    ]


@pytest.mark.parametrize(
    "options",
    [
        envoy_config.EdgeOptions(rate_limit_address_per_second=0),
        envoy_config.EdgeOptions(rate_limit_per_second=0, rate_limit_address_per_second=5),
    ],
    ids=["users-only", "addresses-only"],
)
def test_a_config_with_one_kind_of_limit_passes_envoy_validate(
    tmp_path: Path, options: envoy_config.EdgeOptions
) -> None:
    envoy_validate(write(tmp_path, "edge.yaml", envoy_config.edge(UPSTREAMS, options=options)))


def test_the_jwt_clock_skew_is_explicit() -> None:
    jwt = http_filter(envoy_config.edge(UPSTREAMS), "envoy.filters.http.jwt_authn")
    assert jwt["providers"]["chirp"]["clock_skew_seconds"] == envoy_config.EdgeOptions().jwt_clock_skew_s == 2
    edge = envoy_config.edge(UPSTREAMS, options=envoy_config.EdgeOptions(jwt_clock_skew_s=5))
    assert http_filter(edge, "envoy.filters.http.jwt_authn")["providers"]["chirp"]["clock_skew_seconds"] == 5
