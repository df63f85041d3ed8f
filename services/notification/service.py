"""NotificationService: the caller's notifications, unread count, mark-read, and the live stream."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence

from chirp.notification.v1 import notification_pb2, notification_service_pb2, notification_service_pb2_grpc

from services.kit import paging
from services.kit.errors import InvalidArgument
from services.kit.identity import require_user
from services.kit.server import Context
from services.notification import tokens
from services.notification.hub import Hub
from services.notification.inbox import Inbox
from services.notification.metrics import STREAM_DELAY, STREAMS
from services.notification.model import Kind
from services.notification.store import NotificationStore
from services.notification.views import Views

__all__ = ["NotificationService"]

log = logging.getLogger(__name__)

pb = notification_service_pb2


class NotificationService(notification_service_pb2_grpc.NotificationServiceServicer):
    def __init__(self, *, store: NotificationStore, inbox: Inbox, views: Views, hub: Hub, keepalive: float) -> None:
        self._store = store
        self._inbox = inbox
        self._views = views
        self._hub = hub
        self._keepalive = keepalive

    async def ListNotifications(
        self, request: pb.ListNotificationsRequest, context: Context
    ) -> pb.ListNotificationsResponse:
        me = require_user()
        kinds = _kinds(request.types)
        size = paging.page_size(request.page_size)
        before = tokens.parse_token(request.page_token, caller=me, kinds=kinds)
        stored = await self._store.page(me, before=before, limit=size, kinds=kinds)
        # The token comes from the stored page, not from what survived filtering: a page thinned by blocks
        # still moves on.
        return pb.ListNotificationsResponse(
            notifications=await self._views.render(me, stored),
            next_page_token=tokens.next_token([s.id for s in stored], size=size, caller=me, kinds=kinds),
        )

    async def GetUnreadCount(self, request: pb.GetUnreadCountRequest, context: Context) -> pb.GetUnreadCountResponse:
        me = require_user()
        return pb.GetUnreadCountResponse(unread_count=await self._store.unread_count(me))

    async def MarkRead(self, request: pb.MarkReadRequest, context: Context) -> pb.MarkReadResponse:
        me = require_user()
        return pb.MarkReadResponse(unread_count=await self._inbox.mark_read(me, up_to_id=request.up_to_id))

    async def StreamNotifications(
        self, request: pb.StreamNotificationsRequest, context: Context
    ) -> AsyncIterator[pb.StreamNotificationsResponse]:
        me = require_user()
        # Subscribed before the first count is read, so nothing that happens in between is missed.
        subscription = self._hub.subscribe(me)
        STREAMS.inc()
        log.debug("stream opened for %d (%d open)", me, self._hub.stream_count())
        try:
            yield pb.StreamNotificationsResponse(unread_count=await self._store.unread_count(me))
            while True:
                update = await subscription.next(within=self._keepalive)
                if update is None:  # quiet for a while: the count again, as a keep-alive
                    yield pb.StreamNotificationsResponse(unread_count=await self._store.unread_count(me))
                    continue
                shown = await self._changed(me, update.notification_ids)
                count = await self._store.unread_count(me)
                for notification in shown:
                    yield pb.StreamNotificationsResponse(notification=notification, unread_count=count)
                    delay = time.time() - notification.updated_at.ToNanoseconds() / 1e9
                    STREAM_DELAY.observe(max(0.0, delay))
                    log.debug("notification %d sent live %.0f ms after the action", notification.id, delay * 1000)
                if not shown:
                    yield pb.StreamNotificationsResponse(unread_count=count)
        finally:
            subscription.close()
            STREAMS.dec()
            log.debug("stream closed for %d", me)

    async def _changed(self, me: int, ids: tuple[int, ...]) -> list[notification_pb2.Notification]:
        stored = [s for i in ids if (s := await self._store.get(me, i)) is not None]
        return await self._views.render(me, stored) if stored else []


def _kinds(types: Sequence[int]) -> list[Kind]:
    # The contract's `defined_only` rule on the items is not enforced by protovalidate-python (1.2.0) for
    # repeated enums, so an unknown number is refused here, in the words the validator would use.
    known = {int(k) for k in Kind}
    unknown = [
        (f"types[{i}]", "value must be one of the defined enum values") for i, t in enumerate(types) if t not in known
    ]
    if unknown:
        raise InvalidArgument(
            "INVALID_ARGUMENT",
            f"invalid ListNotificationsRequest: {unknown[0][0]}: {unknown[0][1]}",
            violations=unknown,
        )
    return [Kind(t) for t in types]
