"""Pulling from a durable JetStream consumer: each message handed over the moment it arrives.

    puller = Puller(nc, stream="CHIRP_TWEET", durable="fanout-tweet-created")
    await puller.ask(8)            # at most 8 more messages, over one pull request
    msg = puller.take()            # a message that arrived, or None
    await puller.changed(within=1) # until a message or a request's end arrives

nats-py's `fetch(n)` waits for a batch of more than one until the batch is full or the request expires, and it
reads every pull request's answers from one inbox. A late `408 Request Timeout` of an expired request, read by
the next fetch as the answer to its own probe, made that fetch send a second, lingering request and leave it
behind when the first one brought a message. The server gives a message to its oldest waiting request, so the
next message went to the orphan, and the fetch that received it waited for the rest of a batch that never came,
until the orphan expired: a like reached its notification stream 2 to 4 s late, about one time in thirty
(`python -m bench.live` measures it).

Here every pull request has an inbox (a subscription) of its own, so a status ends exactly the request it names
and no other, each message is counted against the request that brought it (the messages carry their event's
subject, not the inbox), and a message is taken as it arrives. `asked` counts the messages still asked for by
open requests, which the caller tops up to its window.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections import deque
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

__all__ = ["Puller"]

log = logging.getLogger(__name__)

# How long one pull request waits on the server. Short enough that a request lost with a connection is renewed
# soon; an idle consumer sends one request this often.
EXPIRES_S = 5.0
# A request whose end (408) has not come this long after its expiry is given up on here.
_GRACE_S = 1.0
_HEARTBEAT_STATUS = "100"


@dataclass(slots=True)
class _Request:
    remaining: int
    deadline: float  # monotonic: given up on after this
    sub: Subscription | None = None


class Puller:
    """Pull requests to one durable consumer, and the messages they bring, in arrival order."""

    def __init__(self, nc: NATS, *, stream: str, durable: str, expires: float = EXPIRES_S, prefix: str = "$JS.API"):
        self._nc = nc
        self._next_subject = f"{prefix}.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._durable = durable
        self._expires = expires
        self._open: dict[str, _Request] = {}
        self._arrived: deque[Msg] = deque()
        self._changed = asyncio.Event()
        self._closed = False
        # Inboxes of ended requests. Unsubscribed outside the message callbacks: unsubscribing cancels the task that
        # runs a subscription's callback, which would be the one doing it.
        self._ended: list[Subscription] = []
        self.refused: str | None = None  # the server's last refusal of a request (a 409 or 503), until asked again

    @property
    def asked(self) -> int:
        """Messages the open requests may still bring."""
        self._forget_expired()
        return sum(r.remaining for r in self._open.values())

    @property
    def queued(self) -> int:
        """Messages that arrived and were not taken yet."""
        return len(self._arrived)

    async def ask(self, n: int) -> None:
        """Send one pull request for `n` more messages. Raises what nats-py raises if the connection is closed."""
        await self._unsubscribe_ended()
        reply = self._nc.new_inbox()
        request = _Request(n, time.monotonic() + self._expires + _GRACE_S)
        self._open[reply] = request
        self.refused = None
        # Subscribed before the request goes out (the connection keeps the order), so nothing it brings is missed.
        request.sub = await self._nc.subscribe(reply, cb=functools.partial(self._arrive, reply))
        body = json.dumps({"batch": n, "expires": int(self._expires * 1e9)}).encode()
        await self._nc.publish(self._next_subject, body, reply=reply)

    def take(self) -> Msg | None:
        """The oldest message that arrived and was not taken, or None."""
        return self._arrived.popleft() if self._arrived else None

    async def changed(self, *, within: float) -> None:
        """Return when a message or the end of a request arrived since the last call, or after `within` seconds
        (or sooner, when an open request is due to be given up on)."""
        await self._unsubscribe_ended()
        if not self._changed.is_set():
            deadlines = [r.deadline for r in self._open.values()]
            wait = min([within, *(d - time.monotonic() for d in deadlines)])
            try:
                await asyncio.wait_for(self._changed.wait(), max(wait, 0.0))
            except TimeoutError:
                pass
        self._changed.clear()

    async def close(self) -> list[Msg]:
        """Stop receiving; returns the messages that arrived and were not taken (to be handed back)."""
        self._closed = True
        for reply in list(self._open):
            self._end(reply)
        await self._unsubscribe_ended()
        left = list(self._arrived)
        self._arrived.clear()
        return left

    async def _arrive(self, reply: str, msg: Msg) -> None:
        status = (msg.headers or {}).get("Status") if not msg.data else None
        if status == _HEARTBEAT_STATUS:
            return
        request = self._open.get(reply)
        if status is None:
            if self._closed:
                return  # not handed to anyone: redelivered after ack_wait
            self._arrived.append(msg)
            if request is not None:
                request.remaining -= 1
                if request.remaining <= 0:
                    self._end(reply)
        elif request is not None:
            # 408: expired; 409: refused (consumer deleted, too many waiting requests, …); 503: no JetStream.
            if status != "408":
                description = (msg.headers or {}).get("Description", "")
                self.refused = f"{status} {description}".strip()
            self._end(reply)
        self._changed.set()

    def _end(self, reply: str) -> None:
        request = self._open.pop(reply, None)
        if request is not None and request.sub is not None:
            self._ended.append(request.sub)

    async def _unsubscribe_ended(self) -> None:
        while self._ended:
            sub = self._ended.pop()
            try:
                await sub.unsubscribe()
            except Exception as exc:  # a closed connection: nothing more arrives anyway
                log.debug("%s: unsubscribing failed: %s", self._durable, exc)

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for reply in [k for k, r in self._open.items() if r.deadline < now]:
            # Its end was lost (a reconnect). Nothing more is expected; what it might still bring is redelivered.
            request = self._open.pop(reply)
            if request.sub is not None:
                self._ended.append(request.sub)
