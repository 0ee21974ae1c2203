"""Call state in Redis: the record of each call, its transcript, and the set of live calls.

Keys: `call:<id>` (hash: ids, from/to, worker, times, state, outcome), `call:<id>:transcript`
(stream of role/text), `calls:live` (set), `calls:recent` (sorted set by start time).

Writes never block a call: they are queued and written in order by one task, which retries while
Redis is away. Overflow policy: at most `max_pending` writes wait; beyond that the oldest is dropped
and counted (a Redis outage long enough to fill it loses the oldest transcript lines first).

Every write is idempotent, so a batch retried after a lost reply changes nothing twice: hashes and
sets by nature, transcript lines by their own stream ids (a line already there is refused by Redis
and skipped). Text from the wire is made safe before it is queued (bot/safe_text.py), and a write
Redis itself refuses is logged, counted and skipped: one bad write never stops the ones after it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeout
from redis.typing import EncodableT, FieldT

from bot.call_metrics import REDIS_QUEUE, REDIS_RETRIES
from bot.redact import redact
from bot.safe_text import MAX_LINE_CHARS, safe_text

log = logging.getLogger(__name__)
Write = Callable[[Pipeline], object]
Fields = dict[FieldT, EncodableT]
RETRY_S = (0.2, 0.5, 1.0, 2.0)
UNAVAILABLE = (RedisConnectionError, RedisTimeout, OSError)  # Redis away: the batch is retried
BUSY_REPLIES = ("LOADING", "BUSY", "MISCONF", "READONLY", "TRYAGAIN", "CLUSTERDOWN")  # ...or not writable yet
DUPLICATE_REPLY = "equal or smaller than the target stream top item"  # a retried transcript line
STREAM_IDS_KEPT = 4096  # calls whose last transcript id is remembered (oldest forgotten first)
# Atomically: add the call to the live set unless the set is at the limit.
_ADMIT = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
return 1
"""

POST_CALL_DUE = "postcall:due"  # calls whose post-call document is to be delivered (bot/post_call.py)


class CallStore:
    def __init__(self, redis: Redis, max_pending: int = 10_000, clock: Callable[[], float] = time.time,
                 post_call: bool = False) -> None:  # fmt: skip
        """`post_call`: a call's end also queues its post-call delivery (bot/post_call.py)."""
        self.redis = redis
        self.post_call = post_call
        self._pending: deque[Write] = deque()
        self.max_pending = max_pending
        self.dropped = 0
        self._clock = clock
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self.failed = 0  # writes Redis refused (logged and skipped)
        self._writer: asyncio.Task[None] | None = None
        self._stream_ids: OrderedDict[str, tuple[int, int]] = OrderedDict()  # call → its last (ms, seq)

    # --- what calls record ------------------------------------------------------------------------
    def call_started(self, call_id: str, caller: str, callee: str, worker: str, *, direction: str = "inbound",
                     dial_id: str = "") -> None:  # fmt: skip
        now = self._clock()
        record: Fields = {"call_id": safe_text(call_id), "caller": safe_text(caller), "callee": safe_text(callee),
                          "worker": safe_text(worker), "started": now, "state": "ringing", "direction": direction}  # fmt: skip
        if dial_id:
            record["dial_id"] = dial_id

        def write(p: Pipeline) -> None:
            p.hset(f"call:{call_id}", mapping=record)
            p.sadd("calls:live", call_id)
            p.zadd("calls:recent", {call_id: now})

        self._queue(write)

    def call_answered(self, call_id: str) -> None:
        mapping: Fields = {"state": "active", "answered": self._clock()}
        self._queue(lambda p: p.hset(f"call:{call_id}", mapping=mapping))

    def call_fields(self, call_id: str, fields: Mapping[str, str | int]) -> None:
        mapping: Fields = {k: v if isinstance(v, int) else safe_text(v) for k, v in fields.items()}
        self._queue(lambda p: p.hset(f"call:{call_id}", mapping=mapping))

    def dial_state(self, dial_id: str, fields: Mapping[str, str | int | float]) -> None:
        """The state of an outbound request (bot/dialer.py's `dial:<id>`), as the call goes."""
        mapping: Fields = {k: v if isinstance(v, int | float) else safe_text(v) for k, v in fields.items()}
        self._queue(lambda p: p.hset(f"dial:{dial_id}", mapping=mapping))

    def transcript(self, call_id: str, role: str, text: str, *, event: str | None = None,
                   data: Mapping[str, str | int] | None = None) -> None:  # fmt: skip
        """One line of the call's transcript; secrets (card numbers...) are masked before storing.
        `event` and `data`: what the line records, typed (a kind and its figures, as JSON)."""
        now = self._clock()
        entry: Fields = {"role": role, "text": redact(safe_text(text, MAX_LINE_CHARS)), "t": now}
        if event is not None:
            entry["event"] = event
            entry["data"] = json.dumps({k: v if isinstance(v, int) else safe_text(v) for k, v in (data or {}).items()})
        line_id = self._next_stream_id(call_id, now)
        self._queue(lambda p: p.xadd(f"call:{call_id}:transcript", entry, id=line_id, maxlen=5000, approximate=True))

    def _next_stream_id(self, call_id: str, now: float) -> str:
        """The line's own stream id, increasing within the call even if the clock steps back."""
        ms, seq = int(now * 1000), 0
        last = self._stream_ids.pop(call_id, None)
        if last is not None and ms <= last[0]:
            ms, seq = last[0], last[1] + 1
        self._stream_ids[call_id] = (ms, seq)
        if len(self._stream_ids) > STREAM_IDS_KEPT:
            self._stream_ids.popitem(last=False)
        return f"{ms}-{seq}"

    def call_ended(self, call_id: str, outcome: str, started: float) -> None:
        now = self._clock()
        mapping: Fields = {"state": "ended", "ended": now, "outcome": outcome, "duration_s": round(now - started, 3)}

        def write(p: Pipeline) -> None:
            p.hset(f"call:{call_id}", mapping=mapping)
            p.srem("calls:live", call_id)
            if self.post_call:
                p.zadd(POST_CALL_DUE, {call_id: now}, nx=True)  # (once, however often this write is retried)

        self._queue(write)

    # --- admission, liveness, reaping (direct, not queued: they decide what happens now) ------------
    async def admit(self, call_id: str, limit: int) -> bool:
        """Count the call against the global limit across workers; False if it is full.

        Fails open: with Redis away the call is taken (the limit protects capacity, and losing calls
        to a state-store outage would be worse)."""
        try:
            return bool(await self.redis.eval(_ADMIT, 1, "calls:live", call_id, limit))
        except (RedisError, OSError) as exc:
            log.warning("admission check skipped, redis unavailable: %s", exc)
            return True

    async def heartbeat(self, worker: str, ttl_s: float) -> None:
        """Say this worker is alive for `ttl_s`; its calls are reaped if it stops saying so. The time
        is kept too: a reaped call ended at its worker's last heartbeat, not when it was reaped."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(f"worker:{worker}:alive", "1", px=int(ttl_s * 1000))
                pipe.hset("workers:seen", worker, self._clock())
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.debug("heartbeat not written: %s", exc)

    async def orphaned(self) -> list[str]:
        """Live calls whose worker has stopped heartbeating."""
        out = []
        for call_id in [text(c) for c in await self.redis.smembers("calls:live")]:
            worker = (await self.record(call_id)).get("worker", "")
            if not await self.redis.exists(f"worker:{worker}:alive"):
                out.append(call_id)
        return out

    async def calls_of(self, worker: str) -> list[str]:
        """Live calls recorded against `worker`."""
        live = [text(c) for c in await self.redis.smembers("calls:live")]
        return [c for c in live if (await self.record(c)).get("worker") == worker]

    async def end_calls(self, call_ids: list[str], outcome: str, *, at_last_heartbeat: bool = False) -> None:
        """End calls on behalf of a worker that cannot: state, outcome, duration, off the live set.
        `at_last_heartbeat`: the worker died; its calls ended when it was last heard from."""
        seen = text_dict(await self.redis.hgetall("workers:seen")) if at_last_heartbeat else {}
        for call_id in call_ids:
            record = await self.record(call_id)
            now = self._clock()
            started = float(record.get("started", now))
            ended = now
            if record.get("worker") in seen:
                ended = min(now, max(started, float(seen[record["worker"]])))
            mapping: Fields = {"state": "ended", "ended": ended, "outcome": outcome,
                               "duration_s": round(ended - started, 3)}  # fmt: skip
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(f"call:{call_id}", mapping=mapping)
                pipe.srem("calls:live", call_id)
                if self.post_call:
                    pipe.zadd(POST_CALL_DUE, {call_id: now}, nx=True)
                await pipe.execute()

    # --- reading ----------------------------------------------------------------------------------
    async def record(self, call_id: str) -> dict[str, str]:
        return text_dict(await self.redis.hgetall(f"call:{call_id}"))

    async def recent(self, count: int = 20) -> list[str]:
        """Call ids, oldest first, of the last `count` calls."""
        return [text(c) for c in await self.redis.zrange("calls:recent", -count, -1)]

    async def is_live(self, call_id: str) -> bool:
        return bool(await self.redis.sismember("calls:live", call_id))

    async def transcript_of(self, call_id: str) -> list[dict[str, str]]:
        entries = await self.redis.xrange(f"call:{call_id}:transcript")
        return [text_dict(fields or {}) for _id, fields in entries or []]

    # --- the writer -------------------------------------------------------------------------------
    def _queue(self, write: Write) -> None:
        if len(self._pending) >= self.max_pending:
            self._pending.popleft()
            self.dropped += 1
        self._pending.append(write)
        REDIS_QUEUE.set(len(self._pending))
        self._drained.clear()
        self._wake.set()

    def start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="call-store-writer")
        self._writer.add_done_callback(self._writer_ended)

    def _writer_ended(self, task: asyncio.Task[None]) -> None:
        """The writer only ends when cancelled; if a bug ends it anyway, say so and start another."""
        if task.cancelled():
            return
        log.critical("call store writer died; restarting it", exc_info=task.exception())
        self.start()

    async def _write_loop(self) -> None:
        attempt = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = list(self._pending)[:100]
                try:
                    await self._write(batch)
                except UNAVAILABLE as exc:
                    delay = RETRY_S[min(attempt, len(RETRY_S) - 1)]
                    attempt += 1
                    REDIS_RETRIES.inc()
                    if attempt == 1:
                        log.warning("redis unavailable (%s); %d writes held, retrying", exc, len(self._pending))
                    await asyncio.sleep(delay)
                    continue
                if attempt:
                    log.info("redis back; writes resumed")
                attempt = 0
                for _ in batch:
                    if self._pending:
                        self._pending.popleft()
                REDIS_QUEUE.set(len(self._pending))
            self._drained.set()

    async def _write(self, batch: list[Write]) -> None:
        """One pipeline for the batch; raises UNAVAILABLE (retry it all) or writes what can be written."""
        try:
            results = await self._execute(batch)
        except UNAVAILABLE:
            raise
        except Exception as exc:  # a write that cannot be sent at all (a value redis-py cannot encode)
            log.error("call store: a batch could not be written (%s); writing its %d writes one by one",
                      exc, len(batch))  # fmt: skip
            results = []
            for write in batch:
                try:
                    results += await self._execute([write])
                except UNAVAILABLE:
                    raise
                except Exception as one:
                    self.failed += 1
                    log.error("call store: write skipped: %r", one)
        for result in results:
            if not isinstance(result, ResponseError) or DUPLICATE_REPLY in str(result):
                continue
            if str(result).startswith(BUSY_REPLIES):
                raise RedisConnectionError(str(result))  # not writable yet: hold everything and retry
            self.failed += 1
            log.error("call store: redis refused a write: %s", result)

    async def _execute(self, batch: list[Write]) -> list[object]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for write in batch:
                write(pipe)
            return list(await pipe.execute(raise_on_error=False))

    async def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until queued writes are in Redis; False if they are still pending after `timeout_s`."""
        try:
            await asyncio.wait_for(self._drained.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def aclose(self) -> None:
        await self.flush(2.0)
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)


def text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def text_dict(data: Mapping[Any, Any]) -> dict[str, str]:
    """A Redis hash or stream entry with bytes or str keys and values, as str."""
    return {text(k): text(v) for k, v in data.items()}
