"""When each user's class is next due to change by time alone: a heap, at most one live entry per user.

An entry may be early (the user's facts moved the change later since it was planned, or removed it): whoever
takes a due user recomputes and plans again. It is never late: `plan` keeps the earlier of two times.
"""

from __future__ import annotations

import heapq

__all__ = ["Schedule"]


class Schedule:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._at: dict[int, float] = {}  # each planned user's earliest entry

    def plan(self, user_id: int, at: float | None) -> None:
        """Look at `user_id` again at `at` (None: no need), unless an earlier look is planned already."""
        if at is None:
            return
        planned = self._at.get(user_id)
        if planned is not None and planned <= at:
            return
        self._at[user_id] = at
        heapq.heappush(self._heap, (at, user_id))

    def due(self, now: float) -> list[int]:
        """Take the users whose planned time is at or before `now`, earliest first."""
        taken: list[int] = []
        while self._heap and self._heap[0][0] <= now:
            at, user_id = heapq.heappop(self._heap)
            if self._at.get(user_id) != at:
                continue  # superseded by an earlier entry, already taken
            del self._at[user_id]
            taken.append(user_id)
        return taken

    def __len__(self) -> int:
        return len(self._at)
