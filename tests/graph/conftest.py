"""Graph test fixtures: a real SQLite store, the real outbox (its rows are what would be published), actions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
from chirp.graph.v1 import graph_events_pb2

from services.graph.actions import GraphActions
from services.graph.store import MIGRATIONS, GraphStore
from services.kit.events import Events
from services.kit.outbox import Outbox
from services.kit.snowflake import Snowflake
from services.kit.sqlite import Database

Event = tuple[str, int, int]
"""(event name, actor, target), e.g. ("followed", 1, 2): what a consumer of chirp.graph.<name> receives."""


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "graph.db", MIGRATIONS)
    yield database
    await database.close()


@pytest.fixture
def store(db: Database) -> GraphStore:
    return GraphStore(db)


@pytest.fixture
def actions(db: Database, store: GraphStore) -> GraphActions:
    # No relay runs, so the events stay in the outbox table for the test to read: an event is in the table
    # exactly when it would be published.
    outbox = Outbox(db, cast(Events, None))
    return GraphActions(store=store, outbox=outbox, ids=Snowflake(1))


class Published:
    """Reads and consumes the outbox: `await published.take()` answers the events queued since the last take."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._seen = 0

    async def take(self) -> list[Event]:
        rows = await self._db.fetch_all(
            "SELECT id, subject, payload FROM kit_outbox WHERE id > ? ORDER BY id", (self._seen,)
        )
        events: list[Event] = []
        for row in rows:
            self._seen = row["id"]
            name = row["subject"].removeprefix("chirp.graph.")
            message: Any = getattr(graph_events_pb2, _CLASS_OF[name]).FromString(row["payload"])
            events.append((name, message.actor_user_id, message.target_user_id))
        return events

    async def msg_ids(self) -> list[str]:
        return [r[0] for r in await self._db.fetch_all("SELECT msg_id FROM kit_outbox ORDER BY id")]


_CLASS_OF = {
    "followed": "Followed",
    "unfollowed": "Unfollowed",
    "follow_requested": "FollowRequested",
    "follow_request_accepted": "FollowRequestAccepted",
    "follow_request_rejected": "FollowRequestRejected",
    "follow_request_canceled": "FollowRequestCanceled",
    "blocked": "Blocked",
    "unblocked": "Unblocked",
    "muted": "Muted",
    "unmuted": "Unmuted",
}


@pytest.fixture
def published(db: Database) -> Published:
    return Published(db)
