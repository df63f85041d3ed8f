"""Classification test fixtures: a classifier on a real SQLite file, its outbox left unrelayed so that a test
reads exactly the events that would be published, and a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import cast

import pytest
from chirp.classification.v1 import classification_events_pb2

from services.classification.classifier import Classifier
from services.classification.rules import Rules, UserClass
from services.classification.store import MIGRATIONS, ClassificationStore
from services.kit.events import Events
from services.kit.outbox import Outbox
from services.kit.sqlite import Database

START = 1_800_000_000.0
RULES = Rules(famous_followers=3, active_window=100.0, passive_window=1000.0)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


Announced = tuple[int, UserClass, UserClass, float]
"""(user, previous class, class, occurred_at): a `chirp.classification.changed` event."""


class Published:
    """The classification events queued in the outbox since the last `take`."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._seen = 0

    async def take(self) -> list[Announced]:
        rows = await self._db.fetch_all("SELECT id, payload FROM kit_outbox WHERE id > ? ORDER BY id", (self._seen,))
        taken: list[Announced] = []
        for row in rows:
            self._seen = row["id"]
            event = classification_events_pb2.UserClassChanged.FromString(row["payload"])
            at = event.occurred_at.ToNanoseconds() / 1e9
            taken.append((event.user_id, UserClass(event.previous_class), UserClass(event.user_class), at))
        return taken

    async def msg_ids(self) -> list[str]:
        return [r[0] for r in await self._db.fetch_all("SELECT msg_id FROM kit_outbox ORDER BY id")]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "classification.db", MIGRATIONS)
    yield database
    await database.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_classifier(db: Database, clock: Clock) -> Callable[..., Classifier]:
    def make(**options: float) -> Classifier:
        # No relay runs: events stay in the outbox table for Published to read.
        return Classifier(
            store=ClassificationStore(db),
            outbox=Outbox(db, cast(Events, None)),
            rules=RULES,
            clock=clock,
            **options,  # type: ignore[arg-type]
        )

    return make


@pytest.fixture
async def classifier(make_classifier: Callable[..., Classifier]) -> Classifier:
    made = make_classifier()
    await made.load()
    return made


@pytest.fixture
def published(db: Database) -> Published:
    return Published(db)
