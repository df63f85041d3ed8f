"""Presence changes: their encoding in the store and their msg ids."""

from __future__ import annotations

from services.presence.model import Change, State


def test_changes_round_trip_through_their_encoding() -> None:
    change = Change(2**62, 7, State.IDLE, State.OFFLINE, 1_700_000_000_123)
    assert Change.decode(change.encode()) == change
    assert Change.decode(change.encode().encode()) == change
    assert change.msg_id == f"presence-changed-{2**62}-1700000000123-7"
