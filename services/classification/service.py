"""ClassificationService: converts between the contract and the classifier."""

from __future__ import annotations

from chirp.classification.v1 import classification_service_pb2 as pb
from chirp.classification.v1 import classification_service_pb2_grpc

from services.classification.classifier import Classifier
from services.classification.convert import fill, to_proto
from services.kit.server import Context

__all__ = ["ClassificationService"]

class ClassificationService(classification_service_pb2_grpc.ClassificationServiceServicer):
    def __init__(self, classifier: Classifier) -> None:
        self._classifier = classifier

    async def GetUserClass(self, request: pb.GetUserClassRequest, context: Context) -> pb.GetUserClassResponse:
        return pb.GetUserClassResponse(classification=to_proto(self._classifier.view(request.user_id)))

    async def BatchGetUserClasses(
        self, request: pb.BatchGetUserClassesRequest, context: Context
    ) -> pb.BatchGetUserClassesResponse:
        answer = pb.BatchGetUserClassesResponse()
        for view in self._classifier.views(request.user_ids):
            fill(answer.classifications.add(), view)
        return answer

    async def RecordVisit(self, request: pb.RecordVisitRequest, context: Context) -> pb.RecordVisitResponse:
        return pb.RecordVisitResponse(classification=to_proto(await self._classifier.visit(request.user_id)))
