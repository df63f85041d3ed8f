"""The classification service process: `python -m services.classification`."""

from __future__ import annotations

from chirp.classification.v1 import classification_service_pb2_grpc

from services.classification.classifier import Classifier
from services.classification.consumers import STREAMS, Learner, consumers
from services.classification.service import ClassificationService
from services.classification.settings import ClassificationSettings
from services.classification.store import MIGRATIONS, ClassificationStore
from services.kit.server import Runtime, run


async def setup(rt: Runtime[ClassificationSettings]) -> None:
    events = await rt.events()
    for domain in ("classification", *STREAMS):
        await events.ensure_stream(domain)
    db = await rt.database("classification", MIGRATIONS)
    classifier = Classifier(store=ClassificationStore(db), outbox=await rt.outbox(db), rules=rt.settings.rules())
    await classifier.load()  # before any event or call: answers come from memory
    service = ClassificationService(classifier)
    classification_service_pb2_grpc.add_ClassificationServiceServicer_to_server(service, rt.server)
    rt.add_service("chirp.classification.v1.ClassificationService")
    rt.spawn(classifier.run_sweeper(interval=rt.settings.classification_sweep_interval), name="classification-sweeper")
    for name, loop in consumers(events, Learner(classifier)):
        rt.spawn(loop, name=name)


if __name__ == "__main__":
    run("classification", setup, settings_cls=ClassificationSettings)
