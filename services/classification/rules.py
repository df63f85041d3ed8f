"""The rules that turn what is known about a user (their facts) into their class. Plain functions of the facts,
the time and the thresholds.

The classes, checked in this order, the first that applies winning (classification.proto says the same):

    class     applies when                                          defaults (variable)
    FAMOUS    follower_count >= famous_followers                    10,000 (CHIRP_FAMOUS_FOLLOWERS)
    LIVE      the latest presence event says ONLINE or IDLE
    ACTIVE    now - last_active_at < active_window                  7 days (CHIRP_CLASSIFICATION_ACTIVE_WINDOW)
    PASSIVE   now - max(last_active_at, last_seen_at) < passive_window
                                                                    30 days (CHIRP_CLASSIFICATION_PASSIVE_WINDOW)
    INACTIVE  otherwise, and for users with no record

The facts and what moves them:

    last_active_at   "wrote": chirp.tweet.created (tweets, replies, quotes, retweet rows; the author),
                     chirp.engagement.liked and .retweeted (the actor), chirp.graph.followed (the follower);
                     the event's own time, so a replayed event counts when it happened
    last_seen_at     chirp.presence.changed (any state: the user was present until then) and RecordVisit (a
                     home-timeline read the timeline service reports)
    live             chirp.presence.changed: ONLINE or IDLE → True, OFFLINE → False; an event older than the
                     one `live` came from is ignored (events of one user may arrive out of order)
    follower_count   +1 per chirp.graph.followed, -1 per chirp.graph.unfollowed, each event counted once

Writing counts as being seen (PASSIVE looks at the later of the two), so a user who wrote 10 days ago and was
never online is PASSIVE, not stuck between the classes. Unfollows, unlikes and deletions are not "writing":
they mostly come from cleaning up, and blocks publish unfollows for users who did nothing.

Only two changes are made by time alone: ACTIVE → PASSIVE when the active window lapses, and PASSIVE →
INACTIVE when the passive window does (`next_change`). LIVE and FAMOUS end only with an event. A user stops
being INACTIVE at the first of: a presence heartbeat (LIVE), a write (ACTIVE), a RecordVisit (PASSIVE).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

__all__ = [
    "DAY",
    "Facts",
    "Rules",
    "UserClass",
    "classify",
    "entered_at",
    "next_change",
    "with_followers",
    "with_presence",
    "with_seen",
    "with_write",
]

DAY = 24 * 3600.0


class UserClass(enum.IntEnum):
    """The values of `chirp.classification.v1.UserClass`."""

    LIVE = 1
    ACTIVE = 2
    PASSIVE = 3
    INACTIVE = 4
    FAMOUS = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    """The thresholds; windows in seconds."""

    famous_followers: int = 10_000
    active_window: float = 7 * DAY
    passive_window: float = 30 * DAY

    def __post_init__(self) -> None:
        if self.famous_followers < 1 or self.active_window <= 0 or self.passive_window < self.active_window:
            raise ValueError(f"bad rules: {self}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """What is known about a user. Times are Unix seconds; None is never."""

    follower_count: int = 0  # may dip below zero while an unfollow is counted before its follow
    last_active_at: float | None = None
    last_seen_at: float | None = None
    live: bool = False
    presence_at: float | None = None  # when the presence event `live` comes from happened

    @property
    def last_visit_at(self) -> float | None:
        """The later of writing and being seen: what the passive window is measured from."""
        times = [t for t in (self.last_active_at, self.last_seen_at) if t is not None]
        return max(times) if times else None


def classify(facts: Facts, now: float, rules: Rules) -> UserClass:
    if facts.follower_count >= rules.famous_followers:
        return UserClass.FAMOUS
    if facts.live:
        return UserClass.LIVE
    if facts.last_active_at is not None and now - facts.last_active_at < rules.active_window:
        return UserClass.ACTIVE
    visit = facts.last_visit_at
    if visit is not None and now - visit < rules.passive_window:
        return UserClass.PASSIVE
    return UserClass.INACTIVE


def next_change(facts: Facts, now: float, rules: Rules) -> float | None:
    """When the class at `now` changes if no new fact arrives (a window lapses); None if only a fact can change it."""
    current = classify(facts, now, rules)
    if current == UserClass.ACTIVE:
        assert facts.last_active_at is not None
        return facts.last_active_at + rules.active_window
    if current == UserClass.PASSIVE:
        visit = facts.last_visit_at
        assert visit is not None
        return visit + rules.passive_window
    return None


def entered_at(user_class: UserClass, facts: Facts, rules: Rules) -> float | None:
    """When time alone brought the user into `user_class` (the lapse of a window); None for a class time cannot
    bring (a fact did)."""
    if user_class == UserClass.PASSIVE and facts.last_active_at is not None:
        return facts.last_active_at + rules.active_window
    if user_class == UserClass.INACTIVE:
        visit = facts.last_visit_at
        return None if visit is None else visit + rules.passive_window
    return None


def _later(a: float | None, b: float) -> float:
    return b if a is None else max(a, b)


def with_write(facts: Facts, at: float) -> Facts:
    """The user wrote at `at`."""
    return replace(facts, last_active_at=_later(facts.last_active_at, at))


def with_seen(facts: Facts, at: float) -> Facts:
    """The user was seen at `at` (a home-timeline read)."""
    return replace(facts, last_seen_at=_later(facts.last_seen_at, at))


def with_presence(facts: Facts, *, live: bool, at: float) -> Facts:
    """A presence change at `at`: online (ONLINE or IDLE) or not. The latest change decides `live`."""
    seen = with_seen(facts, at)
    if facts.presence_at is not None and at < facts.presence_at:
        return seen  # an older change arriving late
    return replace(seen, live=live, presence_at=at)


def with_followers(facts: Facts, delta: int) -> Facts:
    return replace(facts, follower_count=facts.follower_count + delta)
