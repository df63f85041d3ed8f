"""KeyedLocks: one holder per key at a time, other keys unaffected, and no entry left behind."""

from __future__ import annotations

import asyncio

import pytest

from services.kit.locks import KeyedLocks


async def test_holders_of_one_key_take_turns_and_other_keys_do_not_wait() -> None:
    locks = KeyedLocks()
    inside: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}
    order: list[str] = []

    async def work(key: str, n: int) -> None:
        async with locks.hold(key):
            inside[key] += 1
            most[key] = max(most[key], inside[key])
            order.append(f"{key}{n}")
            await asyncio.sleep(0.01)
            inside[key] -= 1

    await asyncio.gather(*(work("a", n) for n in range(5)), *(work("b", n) for n in range(5)))
    assert most == {"a": 1, "b": 1}
    assert order[:2] == ["a0", "b0"]  # b did not queue behind a
    assert len(locks) == 0


async def test_a_failing_holder_releases_its_key() -> None:
    locks = KeyedLocks()
    with pytest.raises(RuntimeError):
        async with locks.hold("k"):
            raise RuntimeError("boom")
    assert len(locks) == 0
    async with asyncio.timeout(1):
        async with locks.hold("k"):
            pass
