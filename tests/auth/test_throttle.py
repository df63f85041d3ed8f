"""Log-in throttling: the lock schedule, and the counts on a real SQLite store — across restarts and under
concurrent attempts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.auth.addresses import client_address
from services.auth.store import MIGRATIONS, AuthStore, FailureCount
from services.auth.throttle import LockoutPolicy, LoginThrottle, TooManyAttempts
from services.kit.sqlite import Database

ACCOUNT = LockoutPolicy(max_failures=5, first_lock=30, longest_lock=900, memory=3600)
ADDRESS = LockoutPolicy(max_failures=30, first_lock=30, longest_lock=900, memory=3600)


@pytest.mark.parametrize(
    ("failures", "lock"),
    [(0, 0), (1, 0), (4, 0), (5, 30), (6, 60), (7, 120), (8, 240), (9, 480), (10, 900), (11, 900), (1000, 900)],
)
def test_the_lock_doubles_after_the_allowed_failures_up_to_the_longest(failures: int, lock: float) -> None:
    assert ACCOUNT.lock_after(failures) == lock


def test_a_lock_runs_from_the_last_failure_and_failures_are_forgotten() -> None:
    count = FailureCount(failures=5, last_failure_at=1000)
    assert ACCOUNT.wait(count, now=1000) == 30
    assert ACCOUNT.wait(count, now=1029.5) == 0.5
    assert ACCOUNT.wait(count, now=1030) == 0
    assert ACCOUNT.remembered(count, now=1000 + 3599) == 5
    assert ACCOUNT.remembered(count, now=1000 + 3600) == 0
    assert ACCOUNT.wait(FailureCount(4, 1000), now=1000) == 0
    assert ACCOUNT.wait(None, now=0) == 0


def test_retry_after_is_rounded_up_to_whole_seconds() -> None:
    assert TooManyAttempts(0.2).retry_after_seconds == 1
    assert TooManyAttempts(29.01).retry_after_seconds == 30
    assert TooManyAttempts(30).retry_after_seconds == 30


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "auth.db", MIGRATIONS)
    yield database
    await database.close()


def _throttle(db: Database, clock: Clock) -> LoginThrottle:
    return LoginThrottle(AuthStore(db), account=ACCOUNT, address=ADDRESS, clock=clock)


async def _fail(
    throttle: LoginThrottle, *, user_id: int | None = 7, login: str = "alice", address: str = "10.0.0.1"
) -> None:
    await throttle.begin(user_id=user_id, login=login, address=address)  # charged; never settled = a failure


async def test_the_sixth_attempt_on_an_account_is_refused_until_the_lock_runs_out(db: Database) -> None:
    clock = Clock()
    throttle = _throttle(db, clock)
    for _ in range(5):
        await _fail(throttle)
    with pytest.raises(TooManyAttempts) as refused:
        await _fail(throttle, address="10.9.9.9")  # from anywhere: the account is locked
    assert refused.value.retry_after_seconds == 30
    await _fail(throttle, user_id=8, login="bob")  # other accounts are not
    clock.now += 30
    await _fail(throttle)  # one more try once the lock ran out; it fails, and the next lock doubles
    with pytest.raises(TooManyAttempts) as refused:
        await _fail(throttle)
    assert refused.value.retry_after_seconds == 60


async def test_a_success_clears_the_account_but_not_the_address(db: Database) -> None:
    clock = Clock()
    throttle = _throttle(db, clock)
    for _ in range(4):
        await _fail(throttle)
    await throttle.succeeded(await throttle.begin(user_id=7, login="alice", address="10.0.0.1"))
    for _ in range(4):
        await _fail(throttle)  # four more failures are allowed again: the count started over
    async with AuthStore(db).failure_book() as book:
        address = await book.get("address:10.0.0.1")
    assert address == FailureCount(8, clock.now)  # the eight failures stay; the success added nothing


async def test_a_success_gives_back_its_charge_exactly(db: Database) -> None:
    clock = Clock()
    throttle = _throttle(db, clock)
    await _fail(throttle)
    first = clock.now
    clock.now += 10
    await throttle.succeeded(await throttle.begin(user_id=9, login="carol", address="10.0.0.1"))
    async with AuthStore(db).failure_book() as book:
        assert await book.get("address:10.0.0.1") == FailureCount(1, first)  # not moved to the success's time
        assert await book.get("account:9") is None


async def test_unknown_logins_are_throttled_by_the_login_ignoring_case(db: Database) -> None:
    throttle = _throttle(db, Clock())
    for login in ("ghost", "Ghost", " GHOST ", "ghost", "gHoSt"):
        await _fail(throttle, user_id=None, login=login)
    with pytest.raises(TooManyAttempts):
        await _fail(throttle, user_id=None, login="ghost")


async def test_an_address_is_locked_after_its_failures_across_accounts(db: Database) -> None:
    clock = Clock()
    throttle = _throttle(db, clock)
    for n in range(30):  # password spraying: one guess per account
        await _fail(throttle, user_id=100 + n, login=f"user{n}")
    with pytest.raises(TooManyAttempts) as refused:
        await _fail(throttle, user_id=999, login="fresh")
    assert refused.value.retry_after_seconds == 30
    await _fail(throttle, user_id=999, login="fresh", address="10.0.0.2")  # other addresses are not locked


async def test_a_refused_attempt_costs_nothing(db: Database) -> None:
    clock = Clock()
    throttle = _throttle(db, clock)
    for _ in range(5):
        await _fail(throttle)
    for _ in range(20):
        with pytest.raises(TooManyAttempts):
            await _fail(throttle)
    clock.now += 30  # the lock did not grow with the refused attempts
    await _fail(throttle)


async def test_failures_survive_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    database = await Database.open(tmp_path / "auth.db", MIGRATIONS)
    for _ in range(5):
        await _fail(_throttle(database, clock))
    await database.close()
    reopened = await Database.open(tmp_path / "auth.db", MIGRATIONS)
    with pytest.raises(TooManyAttempts):
        await _fail(_throttle(reopened, clock))
    await reopened.close()


async def test_concurrent_guesses_cannot_slip_past_the_limit(db: Database) -> None:
    throttle = _throttle(db, Clock())

    async def guess() -> bool:
        try:
            attempt = await throttle.begin(user_id=7, login="alice", address="10.0.0.1")
        except TooManyAttempts:
            return False
        await asyncio.sleep(0.05)  # the slow password check, during which the others arrive
        del attempt  # wrong password: the charge stays
        return True

    admitted = await asyncio.gather(*(guess() for _ in range(50)))
    assert sum(admitted) == 5


async def test_old_counts_are_swept(db: Database) -> None:
    clock = Clock()
    throttle = _throttle(db, clock)
    await _fail(throttle)
    clock.now += 3599
    assert await throttle.forget_old() == 0
    clock.now += 1
    assert await throttle.forget_old() == 2  # the account and the address


@pytest.mark.parametrize(
    ("metadata", "peer", "expected"),
    [
        ([("x-envoy-external-address", "203.0.113.7"), ("x-forwarded-for", "1.2.3.4,198.51.100.1")], "", "203.0.113.7"),
        ([("x-forwarded-for", "1.2.3.4, 198.51.100.1")], "ipv4:127.0.0.1:5000", "198.51.100.1"),  # the hop Envoy added
        ([], "ipv4:127.0.0.1:5000", "127.0.0.1"),
        ([], "ipv6:[2001:db8:1:2:3:4:5:6]:5000", "2001:db8:1:2::/64"),
        ([("x-envoy-external-address", "2001:db8:1:2:aaaa::1")], "", "2001:db8:1:2::/64"),  # one /64, one client
        ([("x-envoy-external-address", "::ffff:192.0.2.9")], "", "192.0.2.9"),
        ([("x-envoy-external-address", "not-an-ip" * 20)], "", ("not-an-ip" * 20)[:64]),
        ([], "unix:/tmp/socket", "unix:/tmp/socket"),
    ],
)
def test_the_client_address(metadata: list[tuple[str, str]], peer: str, expected: str) -> None:
    assert client_address(metadata, peer) == expected
