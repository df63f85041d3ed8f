"""Session fixtures with real servers on free ports, for any test (imported by tests/conftest.py).

    stack        everything: NATS, Valkey, Typesense, Envoy edge and mesh, every registry service whose module
                 exists; REST at stack.edge_url, infrastructure at stack.nats_url / redis_url / typesense_url
    nats_url     a NATS server with JetStream, alone
    redis_url    a Valkey server, alone
    typesense    a Typesense server, alone: .url and .api_key

Each is started once per test session in its own temporary data directory and stopped at the end. They are
shared: use unique keys, subjects, streams and collections per test instead of relying on an empty server.
Processes' logs are in <data_dir>/logs/ (the path is printed when something fails to start).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import NamedTuple

import pytest
import pytest_asyncio

from stack import Settings, Stack

__all__ = ["TypesenseServer", "nats_url", "redis_url", "stack", "typesense"]


class TypesenseServer(NamedTuple):
    url: str
    api_key: str


def _alone(tmp: pytest.TempPathFactory, server: str) -> Stack:
    return Stack(
        Settings(
            data_dir=tmp.mktemp(server),
            free_ports=True,
            infra=frozenset({server}),
            envoy=False,
            services=(),
        )
    )


# Service settings of the session stack, where a default suits production but not a test run: trends' windows
# (1-minute buckets over an hour by default) shrink to seconds, so a burst can be made and seen in a test.
SESSION_SERVICE_ENV = {
    "CHIRP_TRENDS_BUCKET_SECONDS": "1",
    "CHIRP_TRENDS_WINDOW_SECONDS": "30",
    "CHIRP_TRENDS_HALF_LIFE_SECONDS": "10",
    "CHIRP_TRENDS_BASELINE_HALF_LIFE_SECONDS": "300",
    "CHIRP_TRENDS_BASELINE_PRIOR_SECONDS": "5",
    "CHIRP_TRENDS_REFRESH_SECONDS": "0.2",
    # Every test reaches the edge from the same address, and the fuzz test (tests/e2e/test_fuzz.py) fails
    # hundreds of log-ins: the per-address lock would refuse every later log-in of the session. The
    # per-account lock stays as it is (tests/e2e/test_accounts.py), and the per-address one is tested in
    # tests/auth/.
    "CHIRP_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000",
}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("chirp"),
        free_ports=True,
        # End-to-end tests send bursts; the rate limit has its own test.
        rate_limit_per_second=100_000,
        rate_limit_burst=100_000,
        service_env=SESSION_SERVICE_ENV,
    )
    async with Stack(settings) as running:
        yield running


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def nats_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with _alone(tmp_path_factory, "nats") as running:
        yield running.nats_url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def redis_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with _alone(tmp_path_factory, "valkey") as running:
        yield running.redis_url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def typesense(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TypesenseServer]:
    async with _alone(tmp_path_factory, "typesense") as running:
        yield TypesenseServer(running.typesense_url, running.typesense_api_key)
