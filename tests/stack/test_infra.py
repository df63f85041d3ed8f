"""The supervisor's Python API with real servers: healthy start, loopback only, data kept across restarts,
clear failures, and no process left behind."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import httpx
import nats
import pytest
import redis.asyncio as redis

from services.kit import registry
from stack import ConfigError, NotReady, Settings, Stack
from tests.stack.procs import group_members, listening_addresses, wait_gone

LOOPBACK_V4 = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it


def infra_only(data_dir: Path, *servers: str) -> Settings:
    return Settings(data_dir=data_dir, free_ports=True, infra=frozenset(servers), envoy=False, services=())


async def test_infra_starts_healthy_loopback_only_keeps_data_and_leaves_no_process(tmp_path: Path) -> None:
    async with Stack(infra_only(tmp_path, "nats", "valkey", "typesense")) as first:
        pids = {name: p.pid for name, p in first.processes.items()}
        assert set(pids) == {"nats", "valkey", "typesense"}
        p = first.ports
        for port in (p.nats, p.nats_monitor, p.valkey, p.typesense, p.typesense_peering):
            assert listening_addresses(port) == {LOOPBACK_V4}, f"port {port} listens beyond loopback"

        db = redis.from_url(first.redis_url, decode_responses=True)
        assert await db.config_get("appendonly") == {"appendonly": "yes"}
        await db.set("survives", "a restart")
        await db.aclose()

        nc = await nats.connect(first.nats_url)
        await nc.jetstream().add_stream(name="SURVIVES", subjects=["survives.>"])
        await nc.jetstream().publish("survives.one", b"kept")
        await nc.close()

        key = first.typesense_api_key
        key_file = tmp_path / "typesense.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and key_file.read_text().strip() == key
        async with httpx.AsyncClient(base_url=first.typesense_url) as ts:
            assert (await ts.get("/collections")).status_code == 401
            created = await ts.post(
                "/collections",
                headers={"x-typesense-api-key": key},
                json={"name": "survives", "fields": [{"name": "text", "type": "string"}]},
            )
            assert created.status_code == 201, created.text

    assert await wait_gone(pids.values(), 1) == []
    for pgid in pids.values():  # each child led its own group; nothing of it is left
        assert pgid is not None and group_members(pgid) == []

    # Typesense names its raft node by its ports: on other ports it would take ~10 s to elect itself again.
    same_ports = {"typesense": p.typesense, "typesense_peering": p.typesense_peering}
    settings = replace(infra_only(tmp_path, "nats", "valkey", "typesense"), port_overrides=same_ports)
    async with Stack(settings) as second:
        db = redis.from_url(second.redis_url, decode_responses=True)
        assert await db.get("survives") == "a restart"
        await db.aclose()
        nc = await nats.connect(second.nats_url)
        info = await nc.jetstream().stream_info("SURVIVES")
        await nc.close()
        assert info.state.messages == 1
        assert second.typesense_api_key == key
        async with httpx.AsyncClient(base_url=second.typesense_url) as ts:
            reply = await ts.get("/collections/survives", headers={"x-typesense-api-key": key})
            assert reply.status_code == 200, reply.text


async def test_a_service_that_fails_to_start_is_reported_with_its_log(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        free_ports=True,
        infra=frozenset(),
        envoy=False,
        services=("user",),
        modules={"user": "tests.stack.crashing_service"},
        processes={"user": 1},  # one process, so that the one reported is known
    )
    stack = Stack(settings)
    with pytest.raises(NotReady) as caught:
        await stack.start()
    message = str(caught.value)
    assert message.startswith("user exited with status 3")
    assert str(tmp_path / "logs" / "user.log") in message
    assert "CHIRP_EXAMPLE is not set (failing on purpose)" in message
    assert stack.processes == {}


def test_a_service_gets_the_stack_environment(tmp_path: Path) -> None:
    stack = Stack(infra_only(tmp_path, "nats"))
    env = stack.service_env("tweet")
    index = [e.name for e in registry.entries()].index("tweet")
    assert env["CHIRP_GRPC_PORT"] == str(stack.ports.grpc["tweet"])
    assert env["CHIRP_MESH_ADDR"] == stack.mesh_addr == f"127.0.0.1:{stack.ports.mesh}"
    assert env["CHIRP_NATS_URL"] == stack.nats_url and env["CHIRP_REDIS_URL"] == stack.redis_url
    assert env["CHIRP_DATA_DIR"] == str(tmp_path.resolve()) and env["CHIRP_WORKER_ID"] == str(index)


async def test_a_chosen_service_without_module_is_a_config_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, services=("user",), modules={"user": "tests.stack.not_written_yet"})
    with pytest.raises(ConfigError, match=r"no module tests\.stack\.not_written_yet"):
        await Stack(settings).start()


async def test_running_everything_skips_services_not_written_yet(tmp_path: Path) -> None:
    absent = {e.name: "tests.stack.not_written_yet" for e in registry.entries()}
    settings = Settings(data_dir=tmp_path, free_ports=True, infra=frozenset(), envoy=False, modules=absent)
    async with Stack(settings) as stack:
        assert stack.skipped == tuple(e.name for e in registry.entries())
        assert stack.processes == {}


async def test_a_second_stack_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    async with Stack(infra_only(tmp_path)):
        with pytest.raises(ConfigError, match=r"another stack \(pid \d+\) is using"):
            await Stack(infra_only(tmp_path)).start()
    async with Stack(infra_only(tmp_path)):  # released on stop
        pass
