"""Every known user's facts in memory, kept current by events, written through to SQLite, and the class changes
they make announced as `chirp.classification.changed`.

Why memory: the fan-out worker asks for the classes of pages of thousands of followers per tweet, and a dict
lookup plus the rules is microseconds per user, where even one Redis round trip per page would dominate. This
process is the only writer of its facts (its consumers are the only way facts change), so memory is never
stale; SQLite is the durable copy, loaded at start. One process per deployment (SQLite has one writer).

Each change of facts is one SQLite transaction holding the new row, the event's idempotency mark (for the
follower counts, the only facts that are sums) and, when the class changed, the `chirp.classification.changed`
event in the outbox; memory is updated once it commits. One lock serializes changes, so two events about one
user never both start from the same old row.

Answers apply the rules at the moment they are given, so a window that lapsed a moment ago already shows.
The sweeper announces such time-made changes within its interval (see schedule).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from chirp.classification.v1 import classification_events_pb2

from services.classification.convert import to_proto_class
from services.classification.rules import (
    Facts,
    Rules,
    UserClass,
    classify,
    entered_at,
    next_change,
    with_seen,
)
from services.classification.schedule import Schedule
from services.classification.store import ClassificationStore, Record
from services.kit.batching import Batched
from services.kit.idempotency import first_time
from services.kit.outbox import Outbox
from services.kit.sqlite import Transaction
from services.kit.timestamps import to_timestamp

__all__ = ["SUBJECT", "VISIT_WRITE_INTERVAL", "Classifier", "View"]

log = logging.getLogger(__name__)

SUBJECT = "chirp.classification.changed"
# A visit within this long of the last one recorded changes no class and is not written (last_seen_at may lag
# by this much, against windows of days).
VISIT_WRITE_INTERVAL = 60.0

Clock = Callable[[], float]
FactsChange = Callable[[Facts], Facts]


@dataclass(frozen=True, slots=True)
class _Job:
    """One `apply` call waiting for its commit."""

    changes: Mapping[int, FactsChange]
    at: float
    once: str | None


@dataclass(frozen=True, slots=True)
class View:
    """A user's class at one moment and the facts it came from: what the RPCs answer."""

    user_id: int
    user_class: UserClass
    follower_count: int
    last_active_at: float | None
    last_seen_at: float | None
    updated_at: float | None


class Classifier:
    def __init__(
        self,
        *,
        store: ClassificationStore,
        outbox: Outbox,
        rules: Rules,
        clock: Clock = time.time,
        visit_write_interval: float = VISIT_WRITE_INTERVAL,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self.rules = rules
        self._clock = clock
        self._visit_write_interval = visit_write_interval
        self._records: dict[int, Record] = {}
        self._schedule = Schedule()
        self._lock = asyncio.Lock()  # one transaction at a time; memory changes only under it
        self._batches = Batched(self._commit, lock=self._lock)

    async def load(self) -> None:
        """Read every record into memory and plan the time-made changes (those missed while down are due now)."""
        now = self._clock()
        for record in await self._store.all():
            self._records[record.user_id] = record
            self._plan(record, now)
        log.info("classification: %d users loaded, %d with a change planned", len(self._records), len(self._schedule))

    # --- answers -------------------------------------------------------------------------------------------

    def view(self, user_id: int, *, now: float | None = None) -> View:
        now = self._clock() if now is None else now
        record = self._records.get(user_id)
        if record is None:
            return View(user_id, UserClass.INACTIVE, 0, None, None, None)
        facts = record.facts
        user_class = classify(facts, now, self.rules)
        updated_at = record.updated_at
        if user_class != record.user_class:  # time changed it; the sweeper has yet to announce it
            updated_at = self._entered_at(record, user_class, now)
        return View(
            user_id=user_id,
            user_class=user_class,
            follower_count=max(0, facts.follower_count),
            last_active_at=facts.last_active_at,
            last_seen_at=now if facts.live else facts.last_seen_at,
            updated_at=updated_at,
        )

    def views(self, user_ids: Sequence[int]) -> list[View]:
        now = self._clock()
        return [self.view(i, now=now) for i in user_ids]

    # --- facts ---------------------------------------------------------------------------------------------

    async def apply(self, changes: Mapping[int, FactsChange], *, at: float, once: str | None = None) -> None:
        """Change the facts of the users in `changes` (each by its function), as of an event at `at`.

        With `once`, the change is made only the first time that key is seen (for effects that are not
        idempotent by themselves, like counting). Returns once the change is committed; raises if it was not.

        Calls that arrive while a transaction runs are committed together in the next one (group commit), so
        a consumer handling many events at once pays one SQLite commit per batch, not per event.
        """
        await self._batches.submit(_Job(changes, at, once))

    async def _commit(self, jobs: Sequence[_Job]) -> None:
        now = self._clock()
        working: dict[int, Record] = {}  # this batch's versions: two jobs about one user build on each other
        async with self._store.transaction() as tx:
            for job in jobs:
                if job.once is not None and not await first_time(tx, job.once):
                    log.debug("%s already applied", job.once)
                    continue
                for user_id, change in job.changes.items():
                    before = (
                        working.get(user_id)
                        or self._records.get(user_id)
                        or Record(user_id, Facts(), updated_at=job.at)
                    )
                    working[user_id] = await self._settle(
                        tx, replace(before, facts=change(before.facts)), now, at=job.at
                    )
            for record in working.values():
                await self._store.save(tx, record)
        self._remember(list(working.values()), now)

    async def visit(self, user_id: int) -> View:
        """The user is back (a home-timeline read): seen now. Written only when it matters (see the constant)."""
        now = self._clock()
        record = self._records.get(user_id)
        if record is not None:
            seen = record.facts.last_seen_at
            same_class = classify(with_seen(record.facts, now), now, self.rules) == record.user_class
            if same_class and seen is not None and now - seen < self._visit_write_interval:
                return self.view(user_id, now=now)
        await self.apply({user_id: lambda facts: with_seen(facts, now)}, at=now)
        return self.view(user_id)

    # --- time ----------------------------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Announce the changes time made to the users due by now; returns how many changed."""
        async with self._lock:
            now = self._clock()
            due = [self._records[i] for i in self._schedule.due(now) if i in self._records]
            if not due:
                return 0
            settled: list[Record] = []
            async with self._store.transaction() as tx:
                for record in due:
                    after = await self._settle(tx, record, now, at=None)
                    if after is not record:
                        await self._store.save(tx, after)
                    settled.append(after)
            self._remember(settled, now)  # and plan each user's next look
            return sum(1 for before, after in zip(due, settled, strict=True) if after is not before)

    async def run_sweeper(self, *, interval: float) -> None:
        """Sweep every `interval` seconds until cancelled. A failure (the disk) is logged, and retried next time."""
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("classification sweep failed; retrying in %gs", interval)
            await asyncio.sleep(interval)

    # --- inside ---------------------------------------------------------------------------------------------

    async def _settle(self, tx: Transaction, record: Record, now: float, *, at: float | None) -> Record:
        """`record` with its class brought to `now`, the change (if any) queued in the outbox within `tx`.

        `at` is the time of the event that changed the facts; None when time alone did (the sweeper).
        """
        user_class = classify(record.facts, now, self.rules)
        if user_class == record.user_class:
            return record
        if at is None:
            occurred = self._entered_at(record, user_class, now)
        else:
            # Never before the previous change, so each user's chain reads forward in time.
            occurred = max(at, record.updated_at) if record.updated_at is not None else at
        settled = replace(record, user_class=user_class, updated_at=occurred, changes=record.changes + 1)
        event = classification_events_pb2.UserClassChanged(
            user_id=record.user_id,
            previous_class=to_proto_class(record.user_class),
            user_class=to_proto_class(user_class),
            occurred_at=to_timestamp(occurred),
        )
        await self._outbox.add(tx, SUBJECT, event, msg_id=f"classification-changed-{record.user_id}-{settled.changes}")
        log.debug("user %d: %s → %s", record.user_id, record.user_class.name, user_class.name)
        return settled

    def _entered_at(self, record: Record, user_class: UserClass, now: float) -> float:
        lapse = entered_at(user_class, record.facts, self.rules)
        if lapse is None:
            return now  # a rule changed at restart (e.g. the FAMOUS threshold): no better time is known
        return max(lapse, record.updated_at) if record.updated_at is not None else lapse

    def _remember(self, records: Sequence[Record], now: float) -> None:
        for record in records:
            self._records[record.user_id] = record
            self._plan(record, now)

    def _plan(self, record: Record, now: float) -> None:
        if classify(record.facts, now, self.rules) != record.user_class:
            self._schedule.plan(record.user_id, now)  # a change happened while nobody looked: announce it now
        else:
            self._schedule.plan(record.user_id, next_change(record.facts, now, self.rules))
