"""Post-call delivery: when a call ends, a JSON document about it (record, outcome, masked transcript,
tool calls, a short extractive summary) is POSTed to `VOICEBOT_POST_CALL_URL`, signed with
HMAC-SHA256 like the CRM connector (`X-Voicebot-Signature: t=…,v1=…` over "<time>.<body>", secret
`VOICEBOT_POST_CALL_SECRET`; flows/http_crm.py has `verify`).

Durable: the call's end adds its id to the sorted set `postcall:due` (score: when to try; in the same
write as the end, and only once: ZADD NX), and `postcall:<id>` keeps attempts and the last error. The
supervisor's deliverer sends what is due; a failure (unreachable, timeout, non-2xx) is tried again
later with a growing delay, up to MAX_ATTEMPTS, then the delivery is `failed` (listed by
`voicebot deliveries`). A crash between the end and the delivery loses nothing: the set is in Redis.
At least once: every POST carries `X-Voicebot-Delivery` (the call id) for receivers to deduplicate.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.state import POST_CALL_DUE, CallStore, text_dict
from flows.http_crm import sign

log = logging.getLogger(__name__)
DUE = POST_CALL_DUE
FAILED = "postcall:failed"  # the ids of deliveries given up on (their `postcall:<id>` says why)
RETRY_S = (5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)  # after attempt 1, 2, 3... (then the last, again)
MAX_ATTEMPTS = 10
KEEP_S = 7 * 24 * 3600  # a delivery's status is kept this long
POLL_S = 1.0
TIMEOUT_S = 10.0


async def document(store: CallStore, call_id: str, recordings_url: str | None = None) -> dict[str, Any]:
    """What the receiver gets: the call's record, its transcript (masked when it was written), the
    tool calls, and an extractive summary (the caller's first words, the tools used, the outcome)."""
    record = await store.record(call_id)
    lines = await store.transcript_of(call_id)
    tools = [line.get("text", "") for line in lines if line.get("role") == "tool"]
    caller = [line.get("text", "") for line in lines if line.get("role") == "caller"]
    used = sorted({t.split(" ", 1)[0] for t in tools if t})
    summary = " ".join(
        part
        for part in (
            f"The caller said: {caller[0]}" if caller else "The caller said nothing.",
            f"Tools used: {', '.join(used)}." if used else "",
            f"Outcome: {record.get('outcome', 'unknown')}, {record.get('duration_s', '?')} s.",
        )
        if part
    )
    return {"call_id": call_id, "record": record, "transcript": lines, "tool_calls": tools, "summary": summary,
            "recording": record.get("recording") or None,
            "recording_url": f"{recordings_url}/{call_id}" if recordings_url and record.get("recording") else None}  # fmt: skip


class Deliverer:
    def __init__(self, redis: Redis, url: str, secret: str, retry_s: tuple[float, ...] = RETRY_S,
                 recordings_url: str | None = None) -> None:  # fmt: skip
        self.recordings_url = recordings_url  # where the recordings are downloaded (GET .../{call_id})
        self.redis = redis
        self.url = url
        self.secret = secret
        self.retry_s = retry_s
        self.store = CallStore(redis)

    async def run(self) -> None:
        """Until cancelled (owned by the supervisor). Redis unreachable: waits, never fatal."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http:
            while True:
                try:
                    due = await self.redis.zrangebyscore(DUE, "-inf", time.time(), start=0, num=20)
                    for raw in due:
                        await self.deliver(http, raw.decode() if isinstance(raw, bytes) else str(raw))
                except (RedisError, OSError) as exc:
                    log.warning("post-call deliveries paused: redis unavailable (%s)", exc)
                await asyncio.sleep(POLL_S)

    async def deliver(self, http: aiohttp.ClientSession, call_id: str) -> bool:
        body = json.dumps(await document(self.store, call_id, self.recordings_url)).encode()
        headers = {"Content-Type": "application/json", "X-Voicebot-Delivery": call_id,
                   "X-Voicebot-Signature": sign(self.secret, body, int(time.time()))}  # fmt: skip
        error = ""
        try:
            async with http.post(self.url, data=body, headers=headers) as r:
                if 200 <= r.status < 300:
                    async with self.redis.pipeline(transaction=True) as pipe:
                        pipe.hset(f"postcall:{call_id}", mapping={"state": "delivered", "delivered": time.time()})
                        pipe.hincrby(f"postcall:{call_id}", "attempts", 1)
                        pipe.expire(f"postcall:{call_id}", KEEP_S)
                        pipe.zrem(DUE, call_id)
                        await pipe.execute()
                    log.info("call %s: post-call document delivered", call_id)
                    return True
                error = f"HTTP {r.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:200]
        attempts = int(await self.redis.hincrby(f"postcall:{call_id}", "attempts", 1))
        failed = attempts >= MAX_ATTEMPTS
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(f"postcall:{call_id}", mapping={"state": "failed" if failed else "retrying", "error": error})
            pipe.expire(f"postcall:{call_id}", KEEP_S)
            if failed:
                pipe.zrem(DUE, call_id)
                pipe.sadd(FAILED, call_id)
            else:
                pipe.zadd(DUE, {call_id: time.time() + self.retry_s[min(attempts, len(self.retry_s)) - 1]})
            await pipe.execute()
        log.warning("call %s: post-call delivery %s (%s), attempt %d", call_id, "failed" if failed else "will retry",
                    error, attempts)  # fmt: skip
        return False


async def listing(redis: Redis) -> list[dict[str, str]]:
    """Deliveries not yet made (pending, retrying) and those given up on (failed)."""
    out = []
    for raw in await redis.zrange(DUE, 0, -1, withscores=True):
        call_id = raw[0].decode() if isinstance(raw[0], bytes) else str(raw[0])
        status = text_dict(await redis.hgetall(f"postcall:{call_id}"))
        out.append({"call_id": call_id, "state": status.get("state", "pending"), "next_try": f"{raw[1]:.0f}",
                    "attempts": status.get("attempts", "0"), "error": status.get("error", "")})  # fmt: skip
    for raw in sorted(await redis.smembers(FAILED)):
        call_id = raw.decode() if isinstance(raw, bytes) else str(raw)
        status = text_dict(await redis.hgetall(f"postcall:{call_id}"))
        if not status:  # (its record expired after KEEP_S: forgotten)
            await redis.srem(FAILED, call_id)
            continue
        out.append({"call_id": call_id, "state": "failed", "next_try": "", "attempts": status.get("attempts", "0"),
                    "error": status.get("error", "")})  # fmt: skip
    return out


async def print_deliveries(redis_url: str) -> int:
    redis = Redis.from_url(redis_url)
    try:
        rows = await listing(redis)
    finally:
        await redis.aclose()
    for row in rows:
        print(json.dumps(row))
    if not rows:
        print("no deliveries pending or failed")
    return 0
