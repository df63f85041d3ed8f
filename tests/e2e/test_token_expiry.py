"""An expired access token is refused within seconds of its expiry, end to end: on a stack of the test's own
whose auth service issues tokens that live TTL seconds, the edge accepts a token until `exp` plus its clock
skew (CHIRP_JWT_CLOCK_SKEW) and refuses it with 401 right after, not a minute later (Envoy's default skew)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import jwt

from stack import Settings, Stack
from tests.e2e.client import eventually, register_and_login

TTL = 3
# Refused by the first request sent once Envoy's clock, in whole seconds, is past exp + skew; what a busy
# machine may add to that (the polling interval, a slow request).
_LATE = 1.5


async def test_an_access_token_is_refused_within_the_clock_skew_of_its_expiry(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        free_ports=True,
        infra=frozenset({"nats"}),  # the user service announces sign-ups
        services=("auth", "user"),
        # With the default rate limits: polling ten times a second stays within them.
        service_env={"CHIRP_AUTH_ACCESS_TOKEN_TTL": str(TTL)},
    )
    skew = settings.jwt_clock_skew
    async with Stack(settings) as stack, httpx.AsyncClient(base_url=stack.edge_url, timeout=10) as api:
        account = await register_and_login(api, "exp")
        expires = jwt.decode(account.access_token, options={"verify_signature": False})["exp"]
        accepted = 0
        refused_sent_at = 0.0

        async def refused() -> httpx.Response | None:
            nonlocal accepted, refused_sent_at
            sent_at = time.time()
            reply = await api.get("/v1/me", headers=account.headers)
            if reply.status_code == 200:
                # Envoy saw this request after it was sent, so its clock was not yet past exp + skew then.
                assert sent_at < expires + skew + 1, f"accepted {sent_at - expires:.2f}s after expiry"
                accepted += 1
                return None
            refused_sent_at = sent_at
            return reply

        reply = await eventually(refused, within=TTL + skew + 5, every=0.1)
    assert reply.status_code == 401, reply.text
    assert reply.json() == {"code": 16, "message": "Jwt is expired", "details": []}
    assert accepted > 0  # the same token worked until it expired
    assert expires + skew <= refused_sent_at <= expires + skew + 1 + _LATE
