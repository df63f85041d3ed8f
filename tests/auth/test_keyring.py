"""Key rotation on a real SQLite store: a token signed before a rotation still verifies after it, the JWKS
lists both keys, two instances never rotate twice, and keys made before publication-ahead migrate."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest

from services.auth import keys
from services.auth.keyring import KeyRing
from services.auth.store import MIGRATIONS, AuthStore
from services.auth.tokens import ISSUER, sign_access_token
from services.kit.sqlite import Database

ROTATION, AHEAD, TTL = 7 * 24 * 3600.0, 300.0, 900.0


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "auth.db", MIGRATIONS)
    yield database
    await database.close()


def _ring(db: Database, clock: Clock) -> KeyRing:
    return KeyRing(AuthStore(db), rotation=ROTATION, publish_ahead=AHEAD, token_ttl=TTL, clock=clock)


def _verify(token: str, ring: KeyRing, now: float) -> dict[str, object]:
    """Verify `token` the way Envoy does: against the published JWK Set, by the token's kid."""
    jwks = jwt.PyJWKSet.from_json(json.dumps({"keys": [k.jwk() for k in ring.published()]}))
    key = jwks[jwt.get_unverified_header(token)["kid"]]
    claims: dict[str, object] = jwt.decode(
        token, key, algorithms=[keys.ALGORITHM], issuer=ISSUER, options={"verify_exp": False}
    )
    exp = claims["exp"]
    assert isinstance(exp, int) and exp > now, "expired"
    return claims


def _sign(ring: KeyRing, clock: Clock, user_id: int = 42) -> str:
    return sign_access_token(ring.signing_key(), user_id=user_id, now=clock.now, ttl=TTL)


async def test_a_token_signed_before_a_rotation_verifies_after_it(db: Database) -> None:
    clock = Clock()
    ring = _ring(db, clock)
    await ring.refresh()
    first = ring.signing_key()
    clock.now += ROTATION - AHEAD - 60
    before = _sign(ring, clock)

    clock.now += 60  # the next key is due: published now, signing in AHEAD seconds
    await ring.refresh()
    published = [k.kid for k in ring.published()]
    assert len(published) == 2 and published[1] == first.kid
    assert ring.signing_key().kid == first.kid  # not yet: verifiers may not have fetched it
    second = published[0]

    clock.now += AHEAD  # its turn comes without a refresh
    assert ring.signing_key().kid == second
    after = _sign(ring, clock, user_id=43)
    assert jwt.get_unverified_header(after)["kid"] == second
    assert {k.kid for k in ring.published()} == {first.kid, second}
    assert _verify(before, ring, clock.now)["sub"] == "42"
    assert _verify(after, ring, clock.now)["sub"] == "43"

    clock.now += TTL  # every token of the first key has expired: it is unpublished, then pruned
    await ring.refresh()
    assert [k.kid for k in ring.published()] == [second]
    assert [k.kid for k in await AuthStore(db).signing_keys()] == [second]


async def test_a_restart_keeps_the_keys(tmp_path: Path) -> None:
    clock = Clock()
    database = await Database.open(tmp_path / "auth.db", MIGRATIONS)
    ring = _ring(database, clock)
    await ring.refresh()
    token = _sign(ring, clock)
    await database.close()
    reopened = await Database.open(tmp_path / "auth.db", MIGRATIONS)
    again = _ring(reopened, clock)
    await again.refresh()
    assert again.signing_key().kid == ring.signing_key().kid
    assert _verify(token, again, clock.now)["sub"] == "42"
    await reopened.close()


async def test_two_instances_due_at_once_add_one_key(db: Database) -> None:
    clock = Clock()
    first, second = _ring(db, clock), _ring(db, clock)
    await first.refresh()
    await second.refresh()
    clock.now += ROTATION
    await asyncio.gather(first.refresh(), second.refresh())
    assert len(await AuthStore(db).signing_keys()) == 2
    await first.refresh()
    await second.refresh()
    assert [k.kid for k in first.published()] == [k.kid for k in second.published()]


async def test_keep_fresh_rotates_in_the_background(db: Database) -> None:
    clock = Clock()
    ring = _ring(db, clock)
    await ring.refresh()
    task = asyncio.create_task(ring.keep_fresh(every=0.01))
    clock.now += ROTATION
    for _ in range(500):
        if len(ring.published()) == 2:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    assert len(ring.published()) == 2


async def test_keys_from_before_publication_ahead_are_migrated(tmp_path: Path) -> None:
    path = tmp_path / "auth.db"
    old = await Database.open(path, MIGRATIONS[:1])
    legacy = keys.generate_key(now=1000.0)
    await old.execute(
        "INSERT INTO signing_keys (kid, private_pem, created_at) VALUES (?, ?, ?)",
        (legacy.kid, legacy.private_pem, legacy.created_at),
    )
    await old.close()
    migrated = await Database.open(path, MIGRATIONS)
    [key] = await AuthStore(migrated).signing_keys()
    assert (key.kid, key.activation) == (legacy.kid, 1000.0)
    await migrated.close()
