"""The call store against a real redis-server: wire text that cannot be encoded, writes Redis refuses,
retried batches and calls of a dead worker (bot/state.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.safe_text import CUT, safe_text
from bot.state import CallStore

# What pjsua2 hands Python for a From display name of raw Latin-1 bytes ("Jos\xe9" in ISO-8859-1).
SURROGATE_ESCAPED = b'"Jos\xe9 \xff\xfe" <sip:caller@127.0.0.1>'.decode("utf-8", "surrogateescape")


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def test_safe_text_keeps_the_bytes_as_escapes_and_caps_the_length() -> None:
    assert safe_text(SURROGATE_ESCAPED) == '"Jos\\xe9 \\xff\\xfe" <sip:caller@127.0.0.1>'
    assert safe_text("lone \ud800 surrogate") == "lone \\ud800 surrogate"
    assert safe_text("plain café") == "plain café"
    long = safe_text("x" * 10_000, limit=100)
    assert len(long) == 100 and long.endswith(CUT)


async def test_a_caller_name_that_is_not_utf8_does_not_stop_the_writes_after_it(redis: Redis) -> None:
    store = CallStore(redis)
    store.start()
    try:
        bad, good = unique("bad-name"), unique("after-it")
        store.call_started(bad, SURROGATE_ESCAPED, "sip:bot@127.0.0.1", "w1")
        store.transcript(bad, "user", "my name is " + SURROGATE_ESCAPED)
        store.call_ended(bad, "caller_hung_up", 0.0)
        store.call_started(good, "sip:alice@127.0.0.1", "sip:bot@127.0.0.1", "w1")
        store.transcript(good, "user", "hello")
        assert await store.flush(5.0)
        assert (await store.record(bad))["caller"] == '"Jos\\xe9 \\xff\\xfe" <sip:caller@127.0.0.1>'
        assert (await store.record(bad))["outcome"] == "caller_hung_up"
        assert not await store.is_live(bad)
        assert [e["text"] for e in await store.transcript_of(good)] == ["hello"]
        assert store.failed == 0
    finally:
        await store.aclose()


async def test_a_write_redis_refuses_is_skipped_and_counted_and_the_rest_land(redis: Redis) -> None:
    store = CallStore(redis)
    store.start()
    try:
        call = unique("refused")
        await redis.set(f"call:{call}", "not a hash")  # WRONGTYPE for the record's HSET
        store.call_started(call, "sip:alice@127.0.0.1", "sip:bot@127.0.0.1", "w1")
        store.transcript(call, "user", "still written")
        assert await store.flush(5.0)
        assert store.failed == 1
        assert [e["text"] for e in await store.transcript_of(call)] == ["still written"]
        assert await store.is_live(call)  # the same write's other commands went through
    finally:
        await redis.srem("calls:live", call)
        await store.aclose()


async def test_a_batch_retried_after_a_lost_reply_adds_no_line_twice(redis: Redis) -> None:
    """Redis applied the batch but its reply was lost: the writer sends the same batch again."""
    store = CallStore(redis)  # not started: the test plays the writer
    call = unique("retried")
    for text in ("first", "second", "third"):
        store.transcript(call, "user", text)
    batch = list(store._pending)
    await store._write(batch)
    await store._write(batch)
    assert [e["text"] for e in await store.transcript_of(call)] == ["first", "second", "third"]
    assert store.failed == 0


async def test_lines_keep_their_order_when_the_clock_steps_back(redis: Redis) -> None:
    times = iter([1000.0, 1000.0, 999.0, 1001.0])
    store = CallStore(redis, clock=lambda: next(times))
    call = unique("clock")
    for text in ("a", "b", "c", "d"):
        store.transcript(call, "user", text)
    await store._write(list(store._pending))
    assert [e["text"] for e in await store.transcript_of(call)] == ["a", "b", "c", "d"]


async def test_a_dead_workers_call_ends_at_its_last_heartbeat(redis: Redis) -> None:
    now = [5000.0]
    store = CallStore(redis, clock=lambda: now[0])
    store.start()
    try:
        call = unique("dead-worker")
        worker = unique("w")
        store.call_started(call, "sip:alice@127.0.0.1", "sip:bot@127.0.0.1", worker)
        assert await store.flush(5.0)
        now[0] = 5011.5
        await store.heartbeat(worker, 6.0)  # the worker's last word, 11.5 s into the call
        now[0] = 5090.0  # found dead much later
        await store.end_calls([call], "worker_died", at_last_heartbeat=True)
        record = await store.record(call)
        assert (record["outcome"], record["duration_s"]) == ("worker_died", "11.5")
        assert not await store.is_live(call)
    finally:
        await store.aclose()
