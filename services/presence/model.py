"""Presence as the domain sees it: a state per user, and the changes announced as `chirp.presence.changed`."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from chirp.presence.v1 import presence_pb2
from google.protobuf.timestamp_pb2 import Timestamp

__all__ = ["Change", "Presence", "State", "ms_timestamp", "to_proto_state"]


class State(enum.IntEnum):
    """The values of `chirp.presence.v1.PresenceState`."""

    ONLINE = 1
    IDLE = 2
    OFFLINE = 3


_PROTO_STATES = {
    State.ONLINE: presence_pb2.PRESENCE_STATE_ONLINE,
    State.IDLE: presence_pb2.PRESENCE_STATE_IDLE,
    State.OFFLINE: presence_pb2.PRESENCE_STATE_OFFLINE,
}


def to_proto_state(state: State) -> presence_pb2.PresenceState:
    return _PROTO_STATES[state]


def ms_timestamp(ms: int) -> Timestamp:
    """Unix milliseconds (what Redis's clock gives) as a Timestamp, exactly (seconds as a float would round)."""
    ts = Timestamp()
    ts.FromMilliseconds(ms)
    return ts


@dataclass(frozen=True, slots=True)
class Presence:
    user_id: int
    state: State
    last_seen_ms: int | None  # Unix milliseconds of the latest heartbeat; None when none is on record


@dataclass(frozen=True, slots=True)
class Change:
    """One announced change of a user's state; the n-th of that user."""

    user_id: int
    n: int
    previous: State
    state: State
    at_ms: int  # when it happened, Unix milliseconds (Redis's clock)

    @property
    def msg_id(self) -> str:
        # The time keeps the id unique even if the user's counter restarts (its key expired with the retention).
        return f"presence-changed-{self.user_id}-{self.at_ms}-{self.n}"

    @property
    def key(self) -> str:
        """Its field in the store's pending-changes hash."""
        return f"{self.user_id}:{self.n}"

    def encode(self) -> str:
        return f"{self.user_id},{self.n},{int(self.previous)},{int(self.state)},{self.at_ms}"

    @classmethod
    def decode(cls, text: str | bytes) -> Change:
        if isinstance(text, bytes):
            text = text.decode()
        user_id, n, previous, state, at_ms = (int(part) for part in text.split(","))
        return cls(user_id, n, State(previous), State(state), at_ms)
