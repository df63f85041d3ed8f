"""Who follows, blocks and mutes whom, for the in-memory fakes of our own services that tests serve.

The fakes answer relationships the way GraphService does, and hide what a reader may not see by the production
rule (`services.graph.public.can_see`), not by a copy of it: a change to the rule reaches the fakes too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chirp.user.v1 import user_pb2

from services.graph.public import can_see

__all__ = ["SocialGraph"]


@dataclass
class SocialGraph:
    protected: set[int] = field(default_factory=set)
    follows: set[tuple[int, int]] = field(default_factory=set)  # (follower, followee)
    blocks: set[tuple[int, int]] = field(default_factory=set)  # (blocker, blocked)
    mutes: set[tuple[int, int]] = field(default_factory=set)  # (muter, muted)

    def relationship(self, me: int, other: int) -> user_pb2.Relationship:
        """`me`'s relationship to `other`, as BatchGetRelationships answers it."""
        return user_pb2.Relationship(
            following=(me, other) in self.follows,
            followed_by=(other, me) in self.follows,
            blocking=(me, other) in self.blocks,
            blocked_by=(other, me) in self.blocks,
            muting=(me, other) in self.mutes,
        )

    def sees(self, viewer: int | None, author: int) -> bool:
        relationship = None if viewer is None else self.relationship(viewer, author)
        return can_see(viewer, owner_id=author, owner_protected=author in self.protected, relationship=relationship)
