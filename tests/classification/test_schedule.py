"""The schedule of time-made changes: never late, at most one live entry per user."""

from __future__ import annotations

from services.classification.schedule import Schedule


def test_users_come_due_in_time_order() -> None:
    schedule = Schedule()
    schedule.plan(1, 30.0)
    schedule.plan(2, 10.0)
    schedule.plan(3, None)
    assert schedule.due(5.0) == []
    assert schedule.due(30.0) == [2, 1]
    assert schedule.due(100.0) == []
    assert len(schedule) == 0


def test_the_earlier_of_two_plans_wins_and_the_later_entry_is_dropped() -> None:
    schedule = Schedule()
    schedule.plan(1, 30.0)
    schedule.plan(1, 10.0)
    schedule.plan(1, 50.0)  # later than planned: the early look recomputes anyway
    assert len(schedule) == 1
    assert schedule.due(10.0) == [1]
    assert schedule.due(100.0) == []  # the 30.0 entry was superseded


def test_a_user_taken_can_be_planned_again() -> None:
    schedule = Schedule()
    schedule.plan(1, 10.0)
    assert schedule.due(10.0) == [1]
    schedule.plan(1, 10.0)
    assert schedule.due(10.0) == [1]
