"""Who may see a user's presence: the visibility rule of every read path, with blocks hiding the user entirely.

A block either way answers exactly what a username of no user answers (NOT_FOUND, USER_NOT_FOUND): presence
says when someone can be reached, and neither side of a block gets anything to probe. A protected account's
presence is for its approved followers (and itself), like its tweets: others get PERMISSION_DENIED
ACCOUNT_PROTECTED, since the account's existence is no secret (its profile is public).
"""

from __future__ import annotations

from chirp.graph.v1 import graph_service_pb2, graph_service_pb2_grpc
from chirp.user.v1 import user_service_pb2_grpc

from services.graph.public import RelationshipLike, check_can_see, hidden_by_block
from services.kit import errors
from services.user.public import user_by_username

__all__ = ["check_may_see", "visible_user_id"]


def check_may_see(
    viewer_id: int,
    *,
    owner_id: int,
    owner_protected: bool,
    relationship: RelationshipLike | None,
    username: str,
) -> None:
    """Raise unless `viewer_id` may see `owner_id`'s presence (`relationship`: the viewer's to the owner).

    `username` is the name the caller asked for: a block's NOT_FOUND must read exactly like a missing user's.
    """
    if viewer_id == owner_id:
        return
    if relationship is not None and hidden_by_block(relationship):
        raise errors.NotFound("USER_NOT_FOUND", f"there is no user @{username}")
    check_can_see(viewer_id, owner_id=owner_id, owner_protected=owner_protected, relationship=relationship)


async def visible_user_id(
    viewer_id: int,
    username: str,
    *,
    users: user_service_pb2_grpc.UserServiceStub,
    graph: graph_service_pb2_grpc.GraphServiceStub,
) -> int:
    """The id of the user called `username`, if `viewer_id` may see their presence; raises as `check_may_see`."""
    user = await user_by_username(users, username)
    relationship = None
    if user.id != viewer_id:
        answer = await graph.GetRelationship(
            graph_service_pb2.GetRelationshipRequest(source_user_id=viewer_id, target_user_id=user.id)
        )
        relationship = answer.relationship
    check_may_see(
        viewer_id, owner_id=user.id, owner_protected=user.protected, relationship=relationship, username=username
    )
    return int(user.id)
