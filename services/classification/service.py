"""ClassificationService: converts between the contract and the classifier."""

from __future__ import annotations

from collections.abc import Sequence

from chirp.classification.v1 import classification_service_pb2 as pb
from chirp.classification.v1 import classification_service_pb2_grpc

from services.classification.classifier import Classifier
from services.classification.convert import fill, to_proto
from services.kit import errors
from services.kit.server import Context

__all__ = ["ClassificationService"]

_BATCH_MAX = 5000  # the contract's limit of BatchGet…Request.user_ids


def _check_ids(user_ids: Sequence[int], *, most: int) -> None:
    """The contract's rules for `user_ids`, checked here because protovalidate costs ~25 µs to 2 ms an item on a
    repeated field with rules (a kit helper would serve every batch RPC: see the report of this change)."""
    if len(user_ids) > most:
        raise errors.InvalidArgument(
            "INVALID_ARGUMENT", f"user_ids: value must contain no more than {most} item(s)", field="user_ids"
        )
    bad = next((i for i, user_id in enumerate(user_ids) if user_id <= 0), None)
    if bad is not None:
        raise errors.InvalidArgument(
            "INVALID_ARGUMENT", f"user_ids[{bad}]: value must be greater than 0", field=f"user_ids[{bad}]"
        )


class ClassificationService(classification_service_pb2_grpc.ClassificationServiceServicer):
    def __init__(self, classifier: Classifier) -> None:
        self._classifier = classifier

    async def GetUserClass(self, request: pb.GetUserClassRequest, context: Context) -> pb.GetUserClassResponse:
        return pb.GetUserClassResponse(classification=to_proto(self._classifier.view(request.user_id)))

    async def BatchGetUserClasses(
        self, request: pb.BatchGetUserClassesRequest, context: Context
    ) -> pb.BatchGetUserClassesResponse:
        _check_ids(request.user_ids, most=_BATCH_MAX)
        answer = pb.BatchGetUserClassesResponse()
        for view in self._classifier.views(request.user_ids):
            fill(answer.classifications.add(), view)
        return answer

    async def RecordVisit(self, request: pb.RecordVisitRequest, context: Context) -> pb.RecordVisitResponse:
        return pb.RecordVisitResponse(classification=to_proto(await self._classifier.visit(request.user_id)))
