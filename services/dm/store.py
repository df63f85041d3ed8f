"""The dm service's storage (SQLite): conversations, their participants, messages, inboxes and settings.

Shaped like its Cassandra twin, one table per query, each keyed by the id it is read by:

    conversations      (id)                           a conversation: kind, creator, latest message
    conversations.direct_key  UNIQUE "<low>:<high>"   the one direct conversation of a pair
    participants       (conversation_id, user_id)     who is in it (in order), and who has accepted it
    inbox              (user_id, conversation_id)     a user's conversations …
    inbox_by_activity  (user_id, activity_id DESC)    … most recently active first: activity_id is the latest
                                                      message's Snowflake (the conversation's own id before
                                                      any), so it orders the list and is the page cursor
    messages           (conversation_id, id DESC)     a conversation's messages, newest first
    requests           (user_id, kind, request_id)    idempotent creates: what the first call made
    settings           (user_id)                      who may message the user

A send writes the message, moves the conversation's activity in every participant's inbox (at most 50 rows)
and queues its event, in one transaction; the Cassandra twin would write the same rows in a logged batch.
Reads go to the last committed state.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from services.kit.sqlite import Database, Row, Transaction

__all__ = [
    "DIRECT",
    "GROUP",
    "MIGRATIONS",
    "DmStore",
    "InboxEntry",
    "StoredConversation",
    "StoredMessage",
    "direct_key",
]

# The ConversationType numbers of the contract.
DIRECT = 1
GROUP = 2

MIGRATIONS = [
    """
    CREATE TABLE conversations (
        id              INTEGER PRIMARY KEY,      -- a Snowflake
        kind            INTEGER NOT NULL,         -- 1 direct, 2 group
        creator_id      INTEGER NOT NULL,
        direct_key      TEXT UNIQUE,              -- "<low user id>:<high user id>"; NULL for a group
        created_at      REAL NOT NULL,
        last_message_id INTEGER NOT NULL DEFAULT 0,
        updated_at      REAL NOT NULL
    );

    CREATE TABLE participants (
        conversation_id INTEGER NOT NULL,
        user_id         INTEGER NOT NULL,
        position        INTEGER NOT NULL,         -- 0 the creator, then in the order they were named
        accepted        INTEGER NOT NULL DEFAULT 0, -- started the conversation or has sent a message in it
        PRIMARY KEY (conversation_id, user_id)
    ) WITHOUT ROWID;

    CREATE TABLE inbox (
        user_id         INTEGER NOT NULL,
        conversation_id INTEGER NOT NULL,
        activity_id     INTEGER NOT NULL,
        PRIMARY KEY (user_id, conversation_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX inbox_by_activity ON inbox (user_id, activity_id DESC);

    CREATE TABLE messages (
        conversation_id INTEGER NOT NULL,
        id              INTEGER NOT NULL,         -- a Snowflake
        sender_id       INTEGER NOT NULL,
        text            TEXT NOT NULL,
        created_at      REAL NOT NULL,
        PRIMARY KEY (conversation_id, id DESC)
    ) WITHOUT ROWID;

    CREATE TABLE requests (
        user_id         INTEGER NOT NULL,
        kind            TEXT NOT NULL,            -- 'conversation' or 'message'
        request_id      TEXT NOT NULL,
        conversation_id INTEGER NOT NULL,
        message_id      INTEGER NOT NULL,         -- 0 for a conversation
        PRIMARY KEY (user_id, kind, request_id)
    ) WITHOUT ROWID;

    CREATE TABLE settings (
        user_id             INTEGER PRIMARY KEY,
        allow_messages_from INTEGER NOT NULL      -- a MessagePolicy number
    );
    """,
]

RequestKind = Literal["conversation", "message"]


@dataclass(frozen=True, slots=True)
class StoredConversation:
    id: int
    kind: int
    creator_id: int
    created_at: float
    updated_at: float
    last_message_id: int
    participants: tuple[int, ...]  # the creator first, then in the order named
    accepted: frozenset[int]  # participants who started it or have sent a message in it

    def others(self, user_id: int) -> list[int]:
        return [p for p in self.participants if p != user_id]


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    conversation_id: int
    sender_id: int
    text: str
    created_at: float


@dataclass(frozen=True, slots=True)
class InboxEntry:
    conversation_id: int
    activity_id: int


def direct_key(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


class DmStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def db(self) -> Database:
        return self._db

    # -- writes: each takes the caller's open transaction --------------------------------------------------

    async def create_conversation(
        self, tx: Transaction, *, conversation_id: int, kind: int, participants: Sequence[int], at: float
    ) -> int:
        """Stores the conversation (creator first) and answers its id; for a direct conversation that exists
        already, answers the existing one's id and stores nothing."""
        creator = participants[0]
        key = direct_key(participants[0], participants[1]) if kind == DIRECT else None
        inserted = await tx.execute(
            "INSERT INTO conversations (id, kind, creator_id, direct_key, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (direct_key) DO NOTHING",
            (conversation_id, kind, creator, key, at, at),
        )
        if not inserted:
            row = await tx.fetch_one("SELECT id FROM conversations WHERE direct_key = ?", (key,))
            assert row is not None  # the conflict was on it
            return int(row[0])
        await tx.execute_many(
            "INSERT INTO participants (conversation_id, user_id, position, accepted) VALUES (?, ?, ?, ?)",
            [(conversation_id, user, position, int(user == creator)) for position, user in enumerate(participants)],
        )
        await tx.execute_many(
            "INSERT INTO inbox (user_id, conversation_id, activity_id) VALUES (?, ?, ?)",
            [(user, conversation_id, conversation_id) for user in participants],
        )
        return conversation_id

    async def add_message(self, tx: Transaction, message: StoredMessage, *, participants: Collection[int]) -> None:
        """Stores the message, makes it the conversation's latest activity, and marks the sender accepted."""
        await tx.execute(
            "INSERT INTO messages (conversation_id, id, sender_id, text, created_at) VALUES (?, ?, ?, ?, ?)",
            (message.conversation_id, message.id, message.sender_id, message.text, message.created_at),
        )
        await tx.execute(
            "UPDATE conversations SET last_message_id = ?, updated_at = ? WHERE id = ?",
            (message.id, message.created_at, message.conversation_id),
        )
        await tx.execute_many(
            "UPDATE inbox SET activity_id = ? WHERE user_id = ? AND conversation_id = ?",
            [(message.id, user, message.conversation_id) for user in participants],
        )
        await tx.execute(
            "UPDATE participants SET accepted = 1 WHERE conversation_id = ? AND user_id = ? AND accepted = 0",
            (message.conversation_id, message.sender_id),
        )

    async def remember_request(
        self,
        tx: Transaction,
        *,
        user_id: int,
        kind: RequestKind,
        request_id: str,
        conversation_id: int,
        message_id: int = 0,
    ) -> None:
        await tx.execute(
            "INSERT INTO requests (user_id, kind, request_id, conversation_id, message_id) VALUES (?, ?, ?, ?, ?)",
            (user_id, kind, request_id, conversation_id, message_id),
        )

    async def set_policy(self, user_id: int, policy: int) -> None:
        await self._db.execute(
            "INSERT INTO settings (user_id, allow_messages_from) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET allow_messages_from = excluded.allow_messages_from",
            (user_id, policy),
        )

    # -- reads ---------------------------------------------------------------------------------------------

    async def request(
        self, user_id: int, kind: RequestKind, request_id: str, *, tx: Transaction | None = None
    ) -> tuple[int, int] | None:
        """(conversation id, message id) that an earlier call with `request_id` made, or None."""
        sql = "SELECT conversation_id, message_id FROM requests WHERE user_id = ? AND kind = ? AND request_id = ?"
        params = (user_id, kind, request_id)
        row = await (tx.fetch_one(sql, params) if tx is not None else self._db.fetch_one(sql, params))
        return (int(row[0]), int(row[1])) if row is not None else None

    async def conversation(self, conversation_id: int) -> StoredConversation | None:
        found = await self.conversations([conversation_id])
        return found.get(conversation_id)

    async def direct_between(self, a: int, b: int) -> StoredConversation | None:
        row = await self._db.fetch_one("SELECT id FROM conversations WHERE direct_key = ?", (direct_key(a, b),))
        return await self.conversation(int(row[0])) if row is not None else None

    async def conversations(self, ids: Collection[int]) -> dict[int, StoredConversation]:
        if not ids:
            return {}
        as_json = json.dumps(list(ids))
        rows = await self._db.fetch_all(
            "SELECT c.id, c.kind, c.creator_id, c.created_at, c.updated_at, c.last_message_id"
            " FROM json_each(?) AS ids JOIN conversations AS c ON c.id = ids.value",
            (as_json,),
        )
        members = await self._db.fetch_all(
            "SELECT p.conversation_id, p.user_id, p.accepted FROM json_each(?) AS ids"
            " JOIN participants AS p ON p.conversation_id = ids.value ORDER BY p.conversation_id, p.position",
            (as_json,),
        )
        people: dict[int, list[Row]] = {}
        for member in members:
            people.setdefault(member[0], []).append(member)
        return {r[0]: _conversation(r, people.get(r[0], [])) for r in rows}

    async def inbox(self, user_id: int, *, before: int, limit: int) -> list[InboxEntry]:
        """The user's conversations with activity older than `before`, the most recent first."""
        rows = await self._db.fetch_all(
            "SELECT conversation_id, activity_id FROM inbox WHERE user_id = ? AND activity_id < ?"
            " ORDER BY activity_id DESC LIMIT ?",
            (user_id, before, limit),
        )
        return [InboxEntry(conversation_id=r[0], activity_id=r[1]) for r in rows]

    async def messages(
        self, conversation_id: int, *, before: int, limit: int, hidden_senders: Collection[int] = ()
    ) -> list[StoredMessage]:
        """The conversation's messages older than `before`, newest first, without those of `hidden_senders`."""
        rows = await self._db.fetch_all(
            "SELECT id, conversation_id, sender_id, text, created_at FROM messages"
            " WHERE conversation_id = ? AND id < ? AND sender_id NOT IN (SELECT value FROM json_each(?))"
            " ORDER BY id DESC LIMIT ?",
            (conversation_id, before, json.dumps(list(hidden_senders)), limit),
        )
        return [_message(r) for r in rows]

    async def latest_messages(
        self, conversation_ids: Collection[int], *, hidden_senders: Collection[int] = ()
    ) -> dict[int, StoredMessage]:
        """The newest message of each conversation that is not from `hidden_senders` (none: left out)."""
        if not conversation_ids:
            return {}
        rows = await self._db.fetch_all(
            """
            SELECT m.id, m.conversation_id, m.sender_id, m.text, m.created_at
            FROM json_each(:ids) AS ids
            JOIN messages AS m ON m.conversation_id = ids.value AND m.id = (
                SELECT id FROM messages
                WHERE conversation_id = ids.value AND sender_id NOT IN (SELECT value FROM json_each(:hidden))
                ORDER BY id DESC LIMIT 1
            )
            """,
            {"ids": json.dumps(list(conversation_ids)), "hidden": json.dumps(list(hidden_senders))},
        )
        return {r[1]: _message(r) for r in rows}

    async def message(self, conversation_id: int, message_id: int) -> StoredMessage | None:
        row = await self._db.fetch_one(
            "SELECT id, conversation_id, sender_id, text, created_at FROM messages"
            " WHERE conversation_id = ? AND id = ?",
            (conversation_id, message_id),
        )
        return _message(row) if row is not None else None

    async def policies(self, user_ids: Collection[int]) -> dict[int, int]:
        """The stored MessagePolicy of each user who has one (the others have the default)."""
        if not user_ids:
            return {}
        rows = await self._db.fetch_all(
            "SELECT s.user_id, s.allow_messages_from FROM json_each(?) AS ids"
            " JOIN settings AS s ON s.user_id = ids.value",
            (json.dumps(list(user_ids)),),
        )
        return {r[0]: r[1] for r in rows}


def _conversation(row: Row, members: list[Row]) -> StoredConversation:
    return StoredConversation(
        id=row[0],
        kind=row[1],
        creator_id=row[2],
        created_at=row[3],
        updated_at=row[4],
        last_message_id=row[5],
        participants=tuple(m[1] for m in members),
        accepted=frozenset(m[1] for m in members if m[2]),
    )


def _message(row: Row) -> StoredMessage:
    return StoredMessage(id=row[0], conversation_id=row[1], sender_id=row[2], text=row[3], created_at=row[4])
