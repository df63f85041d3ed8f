"""Class changes from the classification service, applied to the fan-out.

Becoming FAMOUS promotes the user (their tweets are pulled from now on), leaving FAMOUS demotes them; becoming
INACTIVE drops their cached timeline, so pushes skip them until they return and it is rebuilt. The per-tweet
check in delivery reaches the same famous state without these events; they make it happen sooner.
"""

from __future__ import annotations

from chirp.classification.v1 import classification_events_pb2, classification_pb2

from services.kit.events import Delivery
from services.timeline.cache import TimelineCache
from services.timeline.fanout.classify import Classifier
from services.timeline.fanout.famous import Transitions

__all__ = ["ClassChanges"]

_FAMOUS = classification_pb2.USER_CLASS_FAMOUS
_INACTIVE = classification_pb2.USER_CLASS_INACTIVE


class ClassChanges:
    def __init__(self, *, cache: TimelineCache, classifier: Classifier, transitions: Transitions) -> None:
        self._cache = cache
        self._classifier = classifier
        self._transitions = transitions

    async def on_changed(self, event: classification_events_pb2.UserClassChanged, delivery: Delivery) -> None:
        user = event.user_id
        if event.user_class == _FAMOUS or event.previous_class == _FAMOUS:
            # Asked again rather than taken from the event: a late or redelivered event must not undo a newer one.
            await self._transitions.settle(user, famous=await self._classifier.is_famous(user))
        # Only if still so: the user may be back already (a late event, or a redelivered one).
        if event.user_class == _INACTIVE and await self._classifier.user_class(user) == _INACTIVE:
            await self._cache.drop(user)
