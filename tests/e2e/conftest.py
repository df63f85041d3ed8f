"""Fixtures of the end-to-end tests: an HTTP client of the session stack's REST gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from stack import Stack


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.edge_url, timeout=20) as client:
        yield client
