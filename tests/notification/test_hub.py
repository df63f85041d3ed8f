"""The in-process fan-out to open streams, and the summary line a notification carries."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from services.kit.errors import ChirpError
from services.notification.hub import Hub, Update
from services.notification.model import Change, Kind
from services.notification.views import summary


async def test_a_change_reaches_every_stream_of_its_recipient_and_no_one_else() -> None:
    hub = Hub(max_streams_per_user=5)
    phone, laptop, other = hub.subscribe(1), hub.subscribe(1), hub.subscribe(2)
    hub.publish(Change(1, 10))
    assert await phone.next(within=1) == Update((10,), False)
    assert await laptop.next(within=1) == Update((10,), False)
    assert await other.next(within=0.05) is None  # nothing for user 2: the keep-alive timeout


async def test_changes_coalesce_while_a_stream_is_busy() -> None:
    hub = Hub(max_streams_per_user=5)
    stream = hub.subscribe(1)
    for notification_id in (10, 11, 10, 12, 0):
        hub.publish(Change(1, notification_id))
    # 10 changed again after 11: it comes after 11, once, in its latest state; the count-only change is a flag.
    assert await stream.next(within=1) == Update((11, 10, 12), True)
    assert await stream.next(within=0.05) is None


async def test_a_waiting_stream_wakes_as_soon_as_something_changes() -> None:
    hub = Hub(max_streams_per_user=5)
    stream = hub.subscribe(1)
    waiting = asyncio.ensure_future(stream.next(within=30))
    await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    started = loop.time()
    hub.publish(Change(1, 5))
    assert await waiting == Update((5,), False)
    assert loop.time() - started < 0.1


async def test_streams_per_user_are_limited_and_a_closed_one_frees_its_place() -> None:
    hub = Hub(max_streams_per_user=2)
    first, _ = hub.subscribe(1), hub.subscribe(1)
    with pytest.raises(ChirpError) as refused:
        hub.subscribe(1)
    assert (refused.value.code, refused.value.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_STREAMS")
    hub.subscribe(2)  # another user is not affected
    first.close()
    hub.subscribe(1)
    assert hub.connected(1) and hub.stream_count() == 3


async def test_closing_the_hub_ends_every_stream_with_unavailable() -> None:
    hub = Hub(max_streams_per_user=5)
    stream = hub.subscribe(1)
    waiting = asyncio.ensure_future(stream.next(within=30))
    await asyncio.sleep(0.01)
    hub.close()
    with pytest.raises(ChirpError) as ended:
        await waiting
    assert (ended.value.code, ended.value.reason) == (grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN")
    with pytest.raises(ChirpError):
        hub.subscribe(1)


@pytest.mark.parametrize(
    ("kind", "names", "count", "text"),
    [
        (Kind.LIKE, ["Alice"], 1, "Alice liked your tweet"),
        (Kind.RETWEET, ["Alice", "Bob"], 2, "Alice and Bob retweeted your tweet"),
        (Kind.FOLLOW, ["Alice", "Bob", "Carol"], 4, "Alice and 3 others followed you"),
        (Kind.LIKE, ["Alice"], 2, "Alice and 1 other liked your tweet"),  # the other is hidden from the reader
        (Kind.REPLY, ["Alice"], 1, "Alice replied to your tweet"),
        (Kind.QUOTE, ["Alice"], 1, "Alice quoted your tweet"),
        (Kind.MENTION, ["Alice"], 1, "Alice mentioned you"),
        (Kind.FOLLOW_REQUEST, ["Alice"], 1, "Alice requested to follow you"),
    ],
)
def test_summaries(kind: Kind, names: list[str], count: int, text: str) -> None:
    assert summary(kind, names, count) == text
