"""Callbacks: the time a caller asked for in the business's zone, the booking with what they said
on the call, and the release of due ones into the dial queue — each once, however many workers."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from bot import callbacks
from bot.dialer import STREAM, routed, status
from bot.state import CallStore
from flows.call_state import FlowState
from flows.callbacks import CallbackBook
from flows.registry import CallContext, FlowError

ZONE = "America/New_York"
NOW = dt.datetime(2026, 12, 2, 16, 20, tzinfo=ZoneInfo(ZONE)).timestamp()  # a Wednesday, 4:20 pm there


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url.rsplit("/", 1)[0] + "/8")
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


def local(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, ZoneInfo(ZONE)).strftime("%a %Y-%m-%d %H:%M")


def test_the_time_asked_for_is_the_business_zones() -> None:
    book = CallbackBook(Redis(), FlowState(Redis()), ZONE, soon_s=600)
    assert local(book.due("2026-12-03", "10:00", now=NOW)) == "Thu 2026-12-03 10:00"
    assert local(book.due("", "17:30", now=NOW)) == "Wed 2026-12-02 17:30"  # later today
    assert local(book.due("", "09:00", now=NOW)) == "Thu 2026-12-03 09:00"  # past today: tomorrow
    assert local(book.due("2026-12-04", "", now=NOW)) == "Fri 2026-12-04 10:00"  # a day alone: mid-morning
    assert book.due("", "", now=NOW) == NOW + 600  # "as soon as you can"
    with pytest.raises(FlowError):
        book.due("2026-12-01", "10:00", now=NOW)  # yesterday
    with pytest.raises(FlowError):
        book.due("next week", "", now=NOW)
    assert book.spoken_time(book.due("2026-12-03", "10:00", now=NOW), now=NOW) == "tomorrow at 10 AM"
    assert book.spoken_time(NOW + 600, now=NOW) == "shortly"


async def test_a_booked_callback_is_queued_once_when_due_with_the_first_calls_context(redis: Redis) -> None:
    store = CallStore(redis)
    store.start()
    store.call_started("first-call", "<sip:+15550142@trunk>", "<sip:bot@us>", "w1")
    store.transcript("first-call", "caller", "My internet keeps dropping out since Monday.")
    store.transcript("first-call", "caller", "My card is 4111 1111 1111 1111.")
    assert await store.flush()
    book = CallbackBook(redis, FlowState(redis), ZONE, soon_s=1)
    context = CallContext("first-call", "<sip:+15550142@trunk>;tag=x", "<sip:bot@us>")
    callback_id = await book.book(context, book.due("", ""), "internet outage")
    record = await callbacks.get(redis, callback_id)
    assert record["number"] == "+15550142" and record["state"] == "scheduled"
    assert "internet keeps dropping" in record["said"] and "4111" not in record["said"]  # masked
    assert await callbacks.release_due(redis, "Our usual instructions.") == []  # not due yet
    await asyncio.sleep(1.1)
    # Two workers release at once: one dial request.
    released = await asyncio.gather(*(callbacks.release_due(redis, "Our usual instructions.") for _ in range(2)))
    assert callback_id in released[0] + released[1]
    assert await redis.xlen(STREAM) == 1
    entries: Any = await redis.xrange(STREAM)
    fields = entries[0][1]
    instructions = fields[b"instructions"].decode()
    assert instructions.startswith("Greeting: Hello, this is Acme Telecom calling you back about internet outage")
    assert "internet keeps dropping" in instructions and instructions.endswith("Our usual instructions.")
    assert fields[b"uri"] == b"+15550142"
    assert (await status(redis, f"callback-{callback_id}"))["state"] == "queued"
    assert (await callbacks.get(redis, callback_id))["state"] == "queued"
    assert await callbacks.release_due(redis, "Our usual instructions.", now=NOW * 2) == []  # placed once
    await store.aclose()


async def test_a_callback_that_cannot_be_dialed_is_marked_failed_and_the_rest_go_on(redis: Redis) -> None:
    bad = await callbacks.book(redis, callbacks.Callback("not a number", NOW, "call-1"))
    good = await callbacks.book(redis, callbacks.Callback("+15550143", NOW, "call-2"))
    assert await callbacks.release_due(redis, "Instructions.") == [good]
    assert (await callbacks.get(redis, bad))["state"] == "failed"
    assert await redis.zcard(callbacks.DUE) == 0 and await redis.xlen(STREAM) == 1


def test_numbers_go_through_the_outbound_route_and_uris_as_they_are() -> None:
    assert routed("+15550142", "sip:trunk.example.com") == "sip:+15550142@trunk.example.com"
    assert routed("5550142", "sip:127.0.0.1:5099") == "sip:5550142@127.0.0.1:5099"
    assert routed("sip:agent@pbx.example.com", None) == "sip:agent@pbx.example.com"
    assert routed("+15550142", None) is None
