"""The stack keeps itself running: a process that dies is started again, /healthz names what is down meanwhile,
and a process that keeps dying is given up on and reported."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as redis

from stack import Settings, Stack
from stack.probes import wait_ready
from stack.restarts import RestartHistory, RestartPolicy
from tests.stack.procs import listening_addresses
from tests.stack.protos import FAKE_SERVICE, build_descriptor
from tests.stack.test_edge import edge_settings

LOOPBACK_V4 = "0100007F"


# --- the policy ---------------------------------------------------------------------------------------------


def test_delays_double_while_a_process_keeps_failing_and_reset_after_a_stable_run() -> None:
    history = RestartHistory(RestartPolicy(first_delay=0.5, max_delay=3, stable_after=10, limit=100, window=60))
    delays = [history.exited(ran_for=1, now=t) for t in range(5)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert history.exited(ran_for=10, now=5) == 0.5  # it had recovered: a new incident
    assert history.restarts == 6


def test_more_exits_than_the_limit_within_the_window_is_a_crash_loop() -> None:
    history = RestartHistory(RestartPolicy(limit=3, window=10))
    assert [history.exited(ran_for=1, now=t) is not None for t in (0, 1, 2)] == [True, True, True]
    assert history.exited(ran_for=1, now=3) is None
    # Exits spread wider than the window are not a loop.
    spread = RestartHistory(RestartPolicy(limit=3, window=10))
    assert all(spread.exited(ran_for=1, now=t) is not None for t in (0, 11, 22, 33, 44))


def test_the_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        RestartPolicy(first_delay=5, max_delay=1)
    with pytest.raises(ValueError):
        RestartPolicy(limit=0)


def test_restart_settings_come_from_the_environment_and_name_a_bad_variable() -> None:
    settings = Settings.from_env(
        {"CHIRP_RESTART": "off", "CHIRP_CRASH_LOOP_LIMIT": "9", "CHIRP_CRASH_LOOP_WINDOW": "30"}
    )
    assert settings.restart is False
    assert (settings.restart_policy.limit, settings.restart_policy.window) == (9, 30)
    with pytest.raises(ValueError, match="CHIRP_CRASH_LOOP_LIMIT='many'"):
        Settings.from_env({"CHIRP_CRASH_LOOP_LIMIT": "many"})


# --- a real stack ---------------------------------------------------------------------------------------------


async def _healthz(url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as client:
        reply = await client.get(url)
    return reply.status_code, reply.json()


async def _until(what: str, check: Any, within: float = 30) -> None:
    await wait_ready(what, check, deadline=time.monotonic() + within)


def _kill(stack: Stack, name: str) -> int:
    pid = stack.processes[name].pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    return pid


async def test_a_killed_service_comes_back_and_healthz_names_it_meanwhile(tmp_path: Path) -> None:
    descriptor = build_descriptor(tmp_path / "test.binpb", tmp_path)
    settings = edge_settings(tmp_path / "data", descriptor, rate_limit_per_second=0)
    async with Stack(settings) as stack:
        assert listening_addresses(stack.ports.health) == {LOOPBACK_V4}
        healthz = f"{stack.edge_url}/healthz"
        status, body = await _healthz(healthz)
        assert status == 200 and body["parts"][FAKE_SERVICE] == {"kind": "service", "status": "SERVING", "restarts": 0}

        old = _kill(stack, FAKE_SERVICE)
        status, body = await _healthz(healthz)  # the supervisor knows at once, not at the next probe
        assert status == 503, body
        assert body["code"] == 14 and body["status"] == "NOT_SERVING"
        assert body["message"].startswith(f"not serving: {FAKE_SERVICE} (")
        assert body["details"][0]["reason"] == "NOT_SERVING"
        assert set(body["details"][0]["metadata"]) == {FAKE_SERVICE}
        assert body["parts"]["edge"]["status"] == "SERVING"

        async def healthy() -> bool:
            return (await _healthz(healthz))[0] == 200

        await _until("/healthz 200 again", healthy)
        assert stack.processes[FAKE_SERVICE].pid != old
        _, body = await _healthz(healthz)
        assert body["parts"][FAKE_SERVICE]["restarts"] == 1
        log = (stack.log_dir / f"{FAKE_SERVICE}.log").read_text()
        assert log.count("=== ") == 2  # the same log, a second run appended


async def test_a_killed_edge_and_mesh_come_back(tmp_path: Path) -> None:
    descriptor = build_descriptor(tmp_path / "test.binpb", tmp_path)
    async with Stack(edge_settings(tmp_path / "data", descriptor, rate_limit_per_second=0)) as stack:
        for name in ("mesh", "edge"):
            _kill(stack, name)

            async def healthy() -> bool:
                try:
                    return (await _healthz(f"{stack.edge_url}/healthz"))[0] == 200
                except httpx.HTTPError:
                    return False  # the edge itself is what is down

            await _until(f"{name} back", healthy)


async def test_a_killed_valkey_comes_back_with_what_it_acknowledged(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, free_ports=True, infra=frozenset({"valkey"}), envoy=False, services=())
    async with Stack(settings) as stack:
        async with redis.from_url(stack.redis_url) as db:
            await db.set("acknowledged", "before the crash")
        _kill(stack, "valkey")
        status, body = await _healthz(stack.health_url)
        assert status == 503 and "valkey (was killed by SIGKILL; restarting in" in body["message"]

        async def healthy() -> bool:
            return (await _healthz(stack.health_url))[0] == 200

        await _until("valkey back", healthy)
        async with redis.from_url(stack.redis_url, decode_responses=True) as db:
            assert await db.get("acknowledged") == "before the crash"


async def test_a_process_that_keeps_dying_is_given_up_on_and_reported(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, free_ports=True, infra=frozenset({"valkey"}), envoy=False, services=())
    settings = replace(settings, restart_policy=RestartPolicy(first_delay=0.05, limit=2, window=60))
    async with Stack(settings) as stack:
        for _ in range(2):
            old = _kill(stack, "valkey")

            async def restarted(old: int = old) -> bool:
                return stack.processes["valkey"].pid != old and (await _healthz(stack.health_url))[0] == 200

            await _until("valkey restarted", restarted)
        _kill(stack, "valkey")

        async def given_up() -> bool:
            return "crash-looping" in (await _healthz(stack.health_url))[1].get("message", "")

        await _until("crash loop reported", given_up)
        assert not stack.processes["valkey"].running
        status, body = await _healthz(stack.health_url)
        assert status == 503
        assert body["parts"]["valkey"]["problem"].startswith("crash-looping (was killed by SIGKILL;")


async def test_with_restarts_off_an_exit_is_reported_not_restarted(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, free_ports=True, infra=frozenset({"valkey"}), envoy=False, services=(), restart=False
    )
    async with Stack(settings) as stack:
        _kill(stack, "valkey")

        async def reported() -> bool:
            return "restarts are off" in (await _healthz(stack.health_url))[1].get("message", "")

        await _until("exit reported", reported, within=5)
        assert not stack.processes["valkey"].running


async def test_a_service_runs_several_processes_and_losing_one_costs_at_most_the_call_in_flight(
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=tmp_path, free_ports=True, infra=frozenset({"nats", "valkey"}), services=("auth", "user"),
        processes={"user": 2}, rate_limit_per_second=0,
    )  # fmt: skip
    async with Stack(settings) as stack, httpx.AsyncClient(base_url=stack.edge_url, timeout=10) as api:
        assert {"user", "user-2"} <= set(stack.processes)
        username = f"multi{os.getpid()}"
        account = {"username": username, "email": f"{username}@example.com", "password": "several processes, one"}
        answer = await api.post("/v1/accounts", json=account)
        assert answer.status_code == 200, answer.text

        statuses: list[int] = []
        killed_at = time.monotonic() + 1.0
        killed = False
        while time.monotonic() < killed_at + 3.0:  # one call at a time: at most one is in flight at the kill
            if not killed and time.monotonic() >= killed_at:
                _kill(stack, "user-2")
                killed = True
            statuses.append((await api.get(f"/v1/users/{username}")).status_code)
        assert statuses.count(200) >= len(statuses) - 1, statuses

        async def both_served() -> bool:
            async with httpx.AsyncClient(timeout=2) as client:
                for process in ("user", "user-2"):
                    text = (await client.get(f"http://127.0.0.1:{stack.ports.metrics[process]}/metrics")).text
                    if 'grpc_method="GetUser"' not in text:
                        return False
            return (await _healthz(stack.health_url))[0] == 200

        # Both processes answer calls (the restarted one too, once Envoy's health check sees it back).
        deadline = time.monotonic() + 30
        while not await both_served():
            assert time.monotonic() < deadline, "both processes did not serve GetUser"
            await api.get(f"/v1/users/{username}")
