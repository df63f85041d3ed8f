"""Fixtures shared by the whole suite. They live in their own modules; importing them here makes pytest find
them by name in every test directory."""

from __future__ import annotations

from tests.stack.fixtures import nats_url, redis_url, stack, typesense  # noqa: F401  (fixtures, found by name)
