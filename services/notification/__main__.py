"""The notification service process: `python -m services.notification`.

Serves NotificationService (list, unread count, mark-read, the live stream), consumes the engagement, graph
and tweet events that make notifications, and, when CHIRP_SMTP_HOST is set, mails digests to users who are
away. Settings: services/notification/settings.py.
"""

from __future__ import annotations

import logging

from chirp.graph.v1.graph_service_pb2_grpc import GraphServiceStub
from chirp.notification.v1 import notification_service_pb2_grpc
from chirp.presence.v1.presence_service_pb2_grpc import PresenceServiceStub
from chirp.tweet.v1.tweet_service_pb2_grpc import TweetServiceStub
from chirp.user.v1.user_service_pb2_grpc import UserServiceStub

from services.kit.server import Runtime, run
from services.notification.consumers import DOMAINS, Intake, consumers
from services.notification.digest import Digests
from services.notification.hub import Hub
from services.notification.inbox import Inbox
from services.notification.mail import SmtpMailer
from services.notification.people import Relations
from services.notification.presence import PresenceBook
from services.notification.service import NotificationService
from services.notification.settings import NotificationSettings
from services.notification.store import MIGRATIONS, NotificationStore
from services.notification.views import Views

log = logging.getLogger(__name__)


async def setup(rt: Runtime[NotificationSettings]) -> None:
    settings = rt.settings
    events = await rt.events()
    for domain in DOMAINS:  # consumed here; creating a stream is idempotent, whoever starts first
        await events.ensure_stream(domain)
    store = NotificationStore(await rt.database("notification", MIGRATIONS))
    hub = Hub(max_streams_per_user=settings.notification_max_streams)
    inbox = Inbox(store, rt.snowflake, group_window=settings.notification_group_window, on_change=hub.publish)
    graph, users = rt.stub(GraphServiceStub), rt.stub(UserServiceStub)
    views = Views(users=users, tweets=rt.stub(TweetServiceStub), graph=graph)
    service = NotificationService(
        store=store, inbox=inbox, views=views, hub=hub, keepalive=settings.notification_stream_keepalive
    )
    notification_service_pb2_grpc.add_NotificationServiceServicer_to_server(service, rt.server)
    rt.add_service("chirp.notification.v1.NotificationService")

    for durable, loop in consumers(events, Intake(inbox, Relations(graph))):
        rt.spawn(loop, name=durable)
    rt.spawn(_end_streams_on_stop(rt, hub), name="notification-streams")
    if settings.digests_enabled:
        digests = Digests(
            store=store,
            views=views,
            users=users,
            presence=PresenceBook(rt.stub(PresenceServiceStub)),
            hub=hub,
            mailer=SmtpMailer(settings),
            redis=await rt.redis(),
            sender=settings.smtp_from,
            after=settings.notification_digest_after,
            period=settings.notification_digest_period,
            interval=settings.notification_digest_interval,
            max_items=settings.notification_digest_max_items,
        )
        rt.spawn(digests.run(), name="notification-digests")
    else:
        log.info("email digests off: CHIRP_SMTP_HOST is not set")


async def _end_streams_on_stop(rt: Runtime[NotificationSettings], hub: Hub) -> None:
    # Open streams would otherwise hold the graceful shutdown for its whole grace period, then be cut; ended
    # now, their clients get UNAVAILABLE at once and reconnect to another instance (or this one, restarted).
    try:
        await rt.wait_for_stop()
    finally:
        hub.close()


if __name__ == "__main__":
    run("notification", setup, settings_cls=NotificationSettings)
