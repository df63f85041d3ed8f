"""The classification rules as tables: facts and a moment in, a class (and the next change) out."""

from __future__ import annotations

import pytest

from services.classification.rules import (
    DAY,
    Facts,
    Rules,
    UserClass,
    classify,
    entered_at,
    next_change,
    with_followers,
    with_presence,
    with_seen,
    with_write,
)

RULES = Rules(famous_followers=100, active_window=7 * DAY, passive_window=30 * DAY)
NOW = 1_000 * DAY
AGO = NOW - 1  # just now

L, A, P, N, F = UserClass.LIVE, UserClass.ACTIVE, UserClass.PASSIVE, UserClass.INACTIVE, UserClass.FAMOUS

CLASSES = [
    # (why, facts, class at NOW)
    ("nothing known", Facts(), N),
    ("followers just under the threshold", Facts(follower_count=99), N),
    ("followers at the threshold", Facts(follower_count=100), F),
    ("famous beats live", Facts(follower_count=100, live=True), F),
    ("famous beats everything, even years idle", Facts(follower_count=10**6, last_active_at=0), F),
    ("a negative count while an unfollow came first", Facts(follower_count=-1), N),
    ("online", Facts(live=True), L),
    ("live beats active", Facts(live=True, last_active_at=AGO), L),
    ("wrote just now", Facts(last_active_at=AGO), A),
    ("wrote just inside the active window", Facts(last_active_at=NOW - 7 * DAY + 0.001), A),
    ("wrote exactly an active window ago", Facts(last_active_at=NOW - 7 * DAY), P),
    ("wrote 10 days ago, never seen: still counts as a visit", Facts(last_active_at=NOW - 10 * DAY), P),
    ("seen 10 days ago", Facts(last_seen_at=NOW - 10 * DAY), P),
    ("seen just inside the passive window", Facts(last_seen_at=NOW - 30 * DAY + 0.001), P),
    ("seen exactly a passive window ago", Facts(last_seen_at=NOW - 30 * DAY), N),
    ("wrote 31 days ago, seen 29 days ago", Facts(last_active_at=NOW - 31 * DAY, last_seen_at=NOW - 29 * DAY), P),
    ("seen yesterday, wrote today", Facts(last_active_at=AGO, last_seen_at=NOW - DAY), A),
    ("offline after being seen an hour ago", Facts(live=False, last_seen_at=NOW - 3600), P),
    ("neither for 40 days", Facts(last_active_at=NOW - 40 * DAY, last_seen_at=NOW - 40 * DAY), N),
]


@pytest.mark.parametrize(("why", "facts", "expected"), CLASSES, ids=[c[0] for c in CLASSES])
def test_classify(why: str, facts: Facts, expected: UserClass) -> None:
    assert classify(facts, NOW, RULES) == expected


NEXT = [
    # (facts, when the class next changes by itself, the class it changes to)
    (Facts(), None, None),
    (Facts(live=True, last_active_at=AGO), None, None),
    (Facts(follower_count=100, last_active_at=AGO), None, None),
    (Facts(last_active_at=NOW - DAY), NOW + 6 * DAY, P),
    (Facts(last_seen_at=NOW - DAY), NOW + 29 * DAY, N),
    (Facts(last_active_at=NOW - 10 * DAY, last_seen_at=NOW - 20 * DAY), NOW + 20 * DAY, N),
]


@pytest.mark.parametrize(("facts", "when", "then"), NEXT)
def test_next_change_is_when_a_window_lapses(facts: Facts, when: float | None, then: UserClass | None) -> None:
    assert next_change(facts, NOW, RULES) == when
    if when is not None:
        assert classify(facts, when - 0.001, RULES) == classify(facts, NOW, RULES)
        assert classify(facts, when, RULES) == then
        assert entered_at(classify(facts, when, RULES), facts, RULES) == when


def test_entered_at_knows_only_the_classes_time_brings() -> None:
    facts = Facts(last_active_at=NOW, live=True, follower_count=500)
    assert [entered_at(c, facts, RULES) for c in (L, A, F)] == [None, None, None]
    assert entered_at(N, Facts(), RULES) is None
    assert entered_at(P, Facts(last_seen_at=NOW), RULES) is None  # passive by a visit: a fact, not time


def test_times_only_move_forward() -> None:
    facts = with_write(with_write(Facts(), 20.0), 10.0)
    assert facts.last_active_at == 20.0
    assert with_seen(with_seen(Facts(), 20.0), 10.0).last_seen_at == 20.0


def test_the_latest_presence_change_decides_live_whatever_the_order_of_arrival() -> None:
    online_then_offline = with_presence(with_presence(Facts(), live=True, at=10), live=False, at=20)
    offline_first = with_presence(with_presence(Facts(), live=False, at=20), live=True, at=10)
    assert online_then_offline == offline_first
    assert (offline_first.live, offline_first.presence_at, offline_first.last_seen_at) == (False, 20, 20)
    again = with_presence(online_then_offline, live=False, at=20)  # a redelivery
    assert again == online_then_offline


def test_follower_counts_are_plain_sums() -> None:
    assert with_followers(with_followers(Facts(), -1), +1).follower_count == 0


@pytest.mark.parametrize(
    "values",
    [{"famous_followers": 0}, {"active_window": 0}, {"active_window": 10, "passive_window": 5}],
)
def test_bad_rules_are_refused(values: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Rules(**values)  # type: ignore[arg-type]
