"""Registering and updating profiles on a real SQLite store: uniqueness ignoring case, idempotent retries,
and the events written with each change (read back from the outbox, which commits with the change)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from chirp.user.v1 import user_events_pb2
from google.protobuf.message import Message

from services.kit.outbox import Outbox
from services.kit.snowflake import Snowflake
from services.kit.sqlite import Database
from services.user.accounts import Accounts, NoSuchUser
from services.user.profile import ProfilePatch, UnknownPath
from services.user.rules import ProfileRuleError
from services.user.store import MIGRATIONS, DuplicateUser, UserStore


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "user.db", MIGRATIONS)
    yield database
    await database.close()


@pytest.fixture
def accounts(db: Database) -> Accounts:
    # The relay is not started: events stay in the outbox table, where the tests read them.
    return Accounts(store=UserStore(db), outbox=Outbox(db, events=None), ids=Snowflake(1))  # type: ignore[arg-type]


async def _events(db: Database) -> list[tuple[str, str, Any]]:
    """(subject, msg id, decoded event) of every event waiting in the outbox, oldest first."""
    types: dict[str, type[Message]] = {
        "chirp.user.created": user_events_pb2.UserCreated,
        "chirp.user.updated": user_events_pb2.UserUpdated,
    }
    rows = await db.fetch_all("SELECT subject, msg_id, payload FROM kit_outbox ORDER BY id")
    return [(r["subject"], r["msg_id"], types[r["subject"]].FromString(r["payload"])) for r in rows]


async def _register(accounts: Accounts, username: str, email: str, request_id: str = "") -> Any:
    return await accounts.register(username=username, email=email, display_name="", request_id=request_id)


async def test_registration_stores_the_profile_and_announces_it(accounts: Accounts, db: Database) -> None:
    profile = await accounts.register(
        username="Alice_L", email=" Alice@Example.com ", display_name="  Alice  ", request_id=""
    )
    assert (profile.username, profile.email, profile.display_name) == ("Alice_L", "Alice@Example.com", "Alice")
    stored = await UserStore(db).by_username("alice_l")
    assert stored == profile
    [(subject, msg_id, event)] = await _events(db)
    assert (subject, msg_id) == ("chirp.user.created", f"user.created:{profile.id}")
    assert (event.user.id, event.user.username, event.user.HasField("email")) == (profile.id, "Alice_L", False)


async def test_an_empty_display_name_becomes_the_username(accounts: Accounts) -> None:
    assert (await _register(accounts, "bob", "b@example.com")).display_name == "bob"


@pytest.mark.parametrize(
    ("username", "email", "taken"),
    [
        ("ALICE", "other@example.com", "username"),
        ("alice", "other@example.com", "username"),
        ("other", "ALICE@EXAMPLE.COM", "email"),
        ("other", "alice@example.com ", "email"),
    ],
)
async def test_usernames_and_emails_are_unique_ignoring_case(
    accounts: Accounts, db: Database, username: str, email: str, taken: str
) -> None:
    await _register(accounts, "Alice", "Alice@example.com")
    with pytest.raises(DuplicateUser) as refused:
        await _register(accounts, username, email)
    assert refused.value.field == taken
    assert len(await _events(db)) == 1  # the refused one announced nothing


async def test_concurrent_registrations_of_one_name_make_one_account(accounts: Accounts, db: Database) -> None:
    results = await asyncio.gather(
        *(_register(accounts, "alice" if n % 2 else "ALICE", f"a{n}@example.com") for n in range(10)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, DuplicateUser) for r in results if isinstance(r, BaseException))
    assert len(await _events(db)) == 1


async def test_a_retry_with_the_same_request_id_answers_the_first_account(accounts: Accounts, db: Database) -> None:
    first = await _register(accounts, "alice", "a@example.com", request_id="req-1")
    assert await _register(accounts, "alice", "a@example.com", request_id="req-1") == first
    with pytest.raises(DuplicateUser):  # the same id for another registration is no retry
        await _register(accounts, "alice", "other@example.com", request_id="req-1")
    with pytest.raises(DuplicateUser):  # nor is the same registration without the id
        await _register(accounts, "alice", "a@example.com")
    assert len(await _events(db)) == 1


async def test_a_bad_display_name_is_refused(accounts: Accounts) -> None:
    with pytest.raises(ProfileRuleError):
        await accounts.register(username="carol", email="c@example.com", display_name="a\nb", request_id="")


async def test_an_update_writes_and_announces_only_what_changed(accounts: Accounts, db: Database) -> None:
    alice = await _register(accounts, "alice", "a@example.com")
    updated = await accounts.update(alice.id, ProfilePatch(bio="hi", protected=True, discoverable=True), [])
    assert (updated.bio, updated.protected, updated.discoverable) == ("hi", True, True)
    assert await UserStore(db).by_id(alice.id) == updated
    _, (subject, msg_id, event) = await _events(db)
    assert subject == "chirp.user.updated" and msg_id.startswith(f"user.updated:{alice.id}:")
    assert list(event.update_mask.paths) == ["bio", "protected"]  # discoverable was already true
    assert (event.user.bio, event.user.protected) == ("hi", True)


async def test_an_update_that_changes_nothing_announces_nothing(accounts: Accounts, db: Database) -> None:
    alice = await _register(accounts, "alice", "a@example.com")
    assert await accounts.update(alice.id, ProfilePatch(display_name="alice", bio=""), []) == alice
    assert len(await _events(db)) == 1


async def test_each_update_is_its_own_event(accounts: Accounts, db: Database) -> None:
    alice = await _register(accounts, "alice", "a@example.com")
    await accounts.update(alice.id, ProfilePatch(protected=True), [])
    await accounts.update(alice.id, ProfilePatch(protected=False), [])
    ids = [msg_id for _, msg_id, _ in await _events(db)]
    assert len(ids) == len(set(ids)) == 3


async def test_a_masked_field_that_was_not_sent_is_reset(accounts: Accounts) -> None:
    alice = await _register(accounts, "alice", "a@example.com")
    await accounts.update(alice.id, ProfilePatch(display_name="Al", bio="hi"), [])
    reset = await accounts.update(alice.id, ProfilePatch(bio="ignored"), ["display_name"])
    assert (reset.display_name, reset.bio) == ("alice", "hi")


async def test_updates_refuse_unknown_paths_and_missing_users(accounts: Accounts, db: Database) -> None:
    alice = await _register(accounts, "alice", "a@example.com")
    with pytest.raises(UnknownPath):
        await accounts.update(alice.id, ProfilePatch(bio="x"), ["username"])
    with pytest.raises(NoSuchUser):
        await accounts.update(alice.id + 1, ProfilePatch(bio="x"), [])
    assert await UserStore(db).by_id(alice.id) == alice
