"""Chirp's shared runtime kit: what every service and worker does the same way.

A service is its domain code plus a `setup(rt)` that wires it, handed to `run` (a complete service)::

    from chirp.tweet.v1 import tweet_service_pb2 as pb, tweet_service_pb2_grpc as pb_grpc
    from chirp.user.v1.user_service_pb2_grpc import UserServiceStub
    from services.kit import Context, NotFound, Runtime, current_user_id, run
    from services.tweet.store import MIGRATIONS, TweetStore

    class TweetServicer(pb_grpc.TweetServiceServicer):
        def __init__(self, store: TweetStore, users: UserServiceStub) -> None:
            self._store, self._users = store, users

        async def GetTweet(self, request: pb.GetTweetRequest, context: Context) -> pb.GetTweetResponse:
            # `request` already passed its protovalidate rules; current_user_id() is None when anonymous.
            tweet = await self._store.by_id(request.tweet_id)
            if tweet is None:  # → NOT_FOUND with ErrorInfo(reason="TWEET_NOT_FOUND", domain="chirp.tweet")
                raise NotFound("TWEET_NOT_FOUND", f"tweet {request.tweet_id} does not exist")
            return pb.GetTweetResponse(tweet=to_proto(tweet, viewer=current_user_id()))

    async def setup(rt: Runtime) -> None:
        db = await rt.database("tweet", MIGRATIONS)           # <data_dir>/tweet.db, migrated, closed at exit
        servicer = TweetServicer(TweetStore(db), rt.stub(UserServiceStub))   # other services: via Envoy
        pb_grpc.add_TweetServiceServicer_to_server(servicer, rt.server)
        rt.add_service("chirp.tweet.v1.TweetService")         # health SERVING + reflection

    if __name__ == "__main__":
        run("tweet", setup)                                   # python -m services.tweet

Events are written with the data they announce and relayed after commit (`outbox = await rt.outbox(db)`,
then `await outbox.add(tx, "chirp.tweet.created", event, msg_id=f"tweet-created-{id}")` inside
`async with db.transaction() as tx`). A worker adds no service (health is still served) and consumes::

    async def setup(rt: Runtime) -> None:
        events, redis = await rt.events(), await rt.redis()
        await events.ensure_stream("tweet", max_age=timedelta(days=7), max_bytes=1 << 30)
        fanout = Fanout(redis, rt.stub(GraphServiceStub))   # handler: async (event, delivery) -> None
        rt.spawn(events.consume("chirp.tweet.created", TweetCreated, fanout.on_created, durable="fanout-created"))

Rules of the road: raise the errors below (never abort by hand); streaming handlers `yield` responses;
handlers are `async def`; own settings go in a `KitSettings` subclass passed as `run(..., settings_cls=...)`
(fields become `CHIRP_<FIELD>` variables); background work goes through `rt.spawn` (a crash there stops the
process, status 1, for the supervisor to restart it); consumers are idempotent (see idempotency), and a
handler raises to have its event retried (see events).

Modules, one per concern. The names in `__all__` are re-exported here, imported lazily so that importing
`services.kit.registry` stays cheap for tools that only need the registry:

    config        KitSettings (CHIRP_* variables; subclass to add fields), load_settings, StartupError
    server        run, serving, Context (a servicer's context type), Runtime (settings, server, add_service,
                  stack, channel, stub, events, redis, database, outbox, snowflake, spawn, port)
    errors        ChirpError and InvalidArgument, NotFound, AlreadyExists, PermissionDenied, Unauthenticated,
                  FailedPrecondition, ResourceExhausted, Unavailable, Aborted; error_details (client side)
    identity      current_user_id, require_user, acting_as
    interceptors  tracing, metrics, error mapping, identity, protovalidate validation (applied by `serving`)
    events        Events (ensure_stream, publish, consume, stop, close), Delivery
    retries       RetryPolicy: when a failed event is tried again (an outage: for as long as it lasts)
    failures      dependency_down: an outage of something we call, or a failure of our own
    deadletters   the events consumers gave up on; `python -m services.kit.deadletters list|replay`
    subjects      stream_name, and where dead letters and replays go
    pulling       Puller: pull requests to a consumer, each message handed over as it arrives
    outbox        Outbox (add in a transaction; relay publishes after commit)
    idempotency   first_time (SQLite, same transaction), once (Redis)
    sqlite        Database (open, transaction, fetch_one, fetch_all, execute), Transaction, Row
    redis         connect
    snowflake     Snowflake, timestamp_of, min_id_at
    clients       mesh_channel, stub
    telemetry     setup_tracing, start_metrics_server
    locks         KeyedLocks (one asyncio lock per key, within a process)
    logs          setup_logging
    registry      the service registry (ports, protos, modules)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.kit.config import KitSettings, StartupError, load_settings
    from services.kit.errors import (
        Aborted,
        AlreadyExists,
        ChirpError,
        ErrorDetails,
        FailedPrecondition,
        InvalidArgument,
        NotFound,
        PermissionDenied,
        ResourceExhausted,
        Unauthenticated,
        Unavailable,
        error_details,
    )
    from services.kit.events import Delivery, Events
    from services.kit.idempotency import AlreadyRunning, first_time, once
    from services.kit.identity import acting_as, current_user_id, require_user
    from services.kit.outbox import Outbox
    from services.kit.server import Context, Runtime, run, serving
    from services.kit.snowflake import Snowflake, min_id_at, timestamp_of
    from services.kit.sqlite import Database, Row, Transaction

_EXPORTS = {
    "config": ["KitSettings", "StartupError", "load_settings"],
    "errors": [
        "Aborted", "AlreadyExists", "ChirpError", "ErrorDetails", "FailedPrecondition", "InvalidArgument",
        "NotFound", "PermissionDenied", "ResourceExhausted", "Unauthenticated", "Unavailable", "error_details",
    ],
    "events": ["Delivery", "Events"],
    "identity": ["acting_as", "current_user_id", "require_user"],
    "idempotency": ["AlreadyRunning", "first_time", "once"],
    "outbox": ["Outbox"],
    "server": ["Context", "Runtime", "run", "serving"],
    "snowflake": ["Snowflake", "min_id_at", "timestamp_of"],
    "sqlite": ["Database", "Row", "Transaction"],
}  # fmt: skip
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "Aborted",
    "AlreadyExists",
    "AlreadyRunning",
    "ChirpError",
    "Context",
    "Database",
    "Delivery",
    "ErrorDetails",
    "Events",
    "FailedPrecondition",
    "InvalidArgument",
    "KitSettings",
    "NotFound",
    "Outbox",
    "PermissionDenied",
    "ResourceExhausted",
    "Row",
    "Runtime",
    "Snowflake",
    "StartupError",
    "Transaction",
    "Unauthenticated",
    "Unavailable",
    "acting_as",
    "current_user_id",
    "error_details",
    "first_time",
    "load_settings",
    "min_id_at",
    "once",
    "require_user",
    "run",
    "serving",
    "timestamp_of",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'services.kit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"services.kit.{module}"), name)
    globals()[name] = value
    return value
