"""Callbacks a caller asked for ("call me back tomorrow at 10"): kept in Redis until they are due,
then queued as outbound calls (bot/dialer.py) with the context of the first call.

`callback:<id>` is a hash (who, when, the first call's id, why, what they said, state); the sorted
set `callbacks:due` holds the ids of those still to place, by due time. Any worker releases the due
ones (`release_due`, every second from its dial loop): the dial request's id is the callback's, so
two workers releasing the same callback, or one crashing half-way and the next retrying, still
place it once.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

from bot.dialer import MAX_QUEUED, STREAM, DialError, request_call
from bot.state import text_dict

log = logging.getLogger(__name__)
DUE = "callbacks:due"
KEEP_S = 30 * 24 * 3600  # a callback's record is kept this long after it was booked
RELEASE_BATCH = 20  # due callbacks queued per pass
MAX_SCHEDULED = 100_000  # beyond this, booking refuses (never drops)


class CallbackError(Exception):
    """A callback that cannot be booked (too many waiting)."""


@dataclass(frozen=True)
class Callback:
    number: str  # a phone number (dialled through the outbound route) or a SIP URI
    due: float  # epoch seconds
    first_call_id: str
    reason: str = ""
    said: str = ""  # the caller's last words on the first call (masked)
    customer_id: str = ""


def greeting_for(callback: Callback) -> str:
    about = f" about {callback.reason}" if callback.reason and callback.reason != "caller request" else ""
    return (f"Hello, this is Acme Telecom calling you back{about}, as you asked when you called us. "
            "How can I help you today?")  # fmt: skip


def instructions_for(callback: Callback, default: str) -> str:
    """The callback's instructions: its greeting first (the offline brain takes the first Greeting
    line), what the caller wanted, then the bot's usual instructions."""
    context = ("Context: this is a call back to a customer who asked for it. "
               f"On their first call they said: {callback.said}")  # fmt: skip
    return f"Greeting: {greeting_for(callback)}\n{context}\n{default}"


async def book(redis: Redis, callback: Callback) -> str:
    """Keep a callback until it is due; its id."""
    if await redis.zcard(DUE) >= MAX_SCHEDULED:
        raise CallbackError(f"{MAX_SCHEDULED} callbacks waiting already")
    callback_id = secrets.token_hex(8)
    fields = {k: str(v) for k, v in asdict(callback).items()} | {"state": "scheduled", "booked": str(time.time())}
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(f"callback:{callback_id}", mapping=fields)  # type: ignore[arg-type]
        pipe.expire(f"callback:{callback_id}", KEEP_S)
        pipe.zadd(DUE, {callback_id: callback.due})
        await pipe.execute()
    return callback_id


async def get(redis: Redis, callback_id: str) -> dict[str, str]:
    return text_dict(await redis.hgetall(f"callback:{callback_id}"))


async def release_due(redis: Redis, default_instructions: str, now: float | None = None) -> list[str]:
    """Queue the callbacks now due as outbound calls (each once: the dial id is the callback's)."""
    due = [i.decode() if isinstance(i, bytes) else str(i)
           for i in await redis.zrangebyscore(DUE, "-inf", now or time.time(), start=0, num=RELEASE_BATCH)]  # fmt: skip
    released = []
    for callback_id in due:
        record = await get(redis, callback_id)
        if not record:
            await redis.zrem(DUE, callback_id)  # (expired: nothing to place)
            continue
        callback = Callback(record["number"], float(record["due"]), record["first_call_id"], record.get("reason", ""),
                            record.get("said", ""), record.get("customer_id", ""))  # fmt: skip
        variables = {"callback_id": callback_id, "first_call_id": callback.first_call_id}
        dial_id = f"callback-{callback_id}"
        if await redis.xlen(STREAM) >= MAX_QUEUED:
            break  # the dial queue is full: these wait for the next pass
        try:
            await request_call(redis, callback.number, instructions_for(callback, default_instructions), variables,
                               dial_id=dial_id)  # fmt: skip
        except DialError as exc:  # (not a number or URI we can dial: it never will be)
            log.warning("callback %s cannot be placed: %s", callback_id, exc)
            async with redis.pipeline(transaction=True) as pipe:
                pipe.hset(f"callback:{callback_id}", mapping={"state": "failed", "error": str(exc)[:200]})
                pipe.zrem(DUE, callback_id)
                await pipe.execute()
            continue
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hset(f"callback:{callback_id}", mapping={"state": "queued", "dial_id": dial_id})
            pipe.zrem(DUE, callback_id)
            await pipe.execute()
        log.info("callback %s due: queued as dial request %s", callback_id, dial_id)
        released.append(callback_id)
    return released
