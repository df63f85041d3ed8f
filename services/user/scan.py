"""ScanUsers: every profile in id order, for rebuilding derived data (the search index's backfill).

Each page is one primary-key range read (`id > cursor ORDER BY id`), however many users there are.
"""

from __future__ import annotations

from chirp.user.v1 import user_pb2

from services.kit.sqlite import Database
from services.user.convert import to_proto
from services.user.store import Profile

__all__ = ["DEFAULT_LIMIT", "UserScan"]

DEFAULT_LIMIT = 500


class UserScan:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def page(self, *, after_id: int, limit: int) -> list[user_pb2.User]:
        """The users with ids above `after_id`, ascending, at most `limit` (0: DEFAULT_LIMIT); no email."""
        rows = await self._db.fetch_all(
            "SELECT * FROM users WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit or DEFAULT_LIMIT)
        )
        return [to_proto(Profile.from_row(r)) for r in rows]
