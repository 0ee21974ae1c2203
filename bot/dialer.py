"""Outbound calls: a request to call someone goes into a Redis stream; a worker with a free line takes
it, dials through the same call session as an inbound call, and records how it went.

`dial:requests` is a stream read by the consumer group `workers` (capped at MAX_QUEUED requests:
beyond that `request_call` refuses, never drops). Each request has a hash `dial:<id>`: its state
(queued → dialing → ringing → answered → ended, or ended at once with busy / no_answer / rejected /
failed and the SIP status), the call id once dialed, and the outcome. A worker acknowledges a request
as soon as it dials (at most once: a worker that dies mid-call never has its request dialed again, so
nobody is called twice).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.state import text_dict

STREAM = "dial:requests"
GROUP = "workers"
MAX_QUEUED = 10_000
KEEP_S = 7 * 24 * 3600  # a request's hash is kept this long after it was made

# What a callee's SIP answer means for the call (anything else 4xx-6xx: failed).
BUSY = {486, 600}
NO_ANSWER = {408, 480, 487}
REJECTED = {403, 603, 607}


_NUMBER = re.compile(r"^\+?\d{3,15}$")


class DialError(Exception):
    """A request that cannot be queued (the queue is full, or the URI is not a SIP URI)."""


@dataclass(frozen=True)
class DialRequest:
    id: str
    uri: str
    instructions: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    amd: bool = True  # answering-machine detection on answer (off for calls into phone menus)
    record: bool = True  # the call's recording (when recording is on at all)

    def instructions_for(self, default: str) -> str:
        """The call's instructions with `{name}` filled from the request's variables (unknown: left)."""
        text = self.instructions or default
        return text.format_map(_Leave(self.variables)) if self.variables else text


class _Leave(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def routed(target: str, route: str | None) -> str | None:
    """The URI to dial: a SIP URI as it is; a phone number through `route` (the trunk: `sip:HOST[:PORT]`,
    giving `sip:NUMBER@HOST[:PORT]`); None for a number with no route."""
    if not _NUMBER.match(target):
        return target
    if not route:
        return None
    host = route.split(":", 1)[1] if route.startswith(("sip:", "sips:")) else route
    scheme = "sips" if route.startswith("sips:") else "sip"
    return f"{scheme}:{target}@{host.split('@')[-1]}"


def outcome_of(status: int) -> str:
    """busy / no_answer / rejected / failed, from the final SIP status of a call never answered."""
    if status in BUSY:
        return "busy"
    if status in NO_ANSWER:
        return "no_answer"
    if status in REJECTED:
        return "rejected"
    return "failed"


async def request_call(redis: Redis, uri: str, instructions: str | None = None,
                       variables: dict[str, str] | None = None, dial_id: str | None = None,
                       amd: bool = True, record: bool = True) -> str:  # fmt: skip
    """Queue a call; its id. With `dial_id` given (a campaign's own, kept before asking), asking again
    after a crash queues nothing twice: a request that exists already is left as it is."""
    if not ((uri.startswith(("sip:", "sips:")) and len(uri) <= 512) or _NUMBER.match(uri)):
        raise DialError(f"not a SIP URI or a phone number: {uri[:80]!r}")
    if await redis.xlen(STREAM) >= MAX_QUEUED:
        raise DialError(f"{MAX_QUEUED} calls queued already; try again later")
    dial_id = dial_id or new_id()
    args = (uri, time.time(), KEEP_S, dial_id, instructions or "", json.dumps(variables or {}), "1" if amd else "0",
            "1" if record else "0")  # fmt: skip
    await redis.eval(_QUEUE_ONCE, 2, f"dial:{dial_id}", STREAM, *args)
    return dial_id


# The request's hash and its stream entry, both or neither, and only the first time (Redis runs a
# script atomically): a crash between the two can never leave a request queued twice or never.
_QUEUE_ONCE = """
if redis.call('HSETNX', KEYS[1], 'state', 'queued') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'uri', ARGV[1], 'requested', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('XADD', KEYS[2], '*', 'id', ARGV[4], 'uri', ARGV[1], 'instructions', ARGV[5], 'variables', ARGV[6],
           'amd', ARGV[7], 'record', ARGV[8])
return 1
"""


def new_id() -> str:
    return secrets.token_hex(8)


async def status(redis: Redis, dial_id: str) -> dict[str, str]:
    return text_dict(await redis.hgetall(f"dial:{dial_id}"))


async def ask_hang_up(redis: Redis, dial_id: str) -> bool:
    """The worker with that call hangs it up (or never dials it); False if no such request."""
    if not await redis.exists(f"dial:{dial_id}"):
        return False
    await redis.hset(f"dial:{dial_id}", "hang_up", "1")
    return True


class DialQueue:
    """A worker's side of the stream."""

    def __init__(self, redis: Redis, consumer: str) -> None:
        self.redis = redis
        self.consumer = consumer

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def take(self, block_ms: int) -> DialRequest | None:
        """The next request, acknowledged at once (at most once), or None after `block_ms`."""
        got: Any = await self.redis.xreadgroup(GROUP, self.consumer, {STREAM: ">"}, count=1, block=block_ms)
        if not got:
            return None
        entry_id, raw = got[0][1][0]
        await self.redis.xack(STREAM, GROUP, entry_id)
        await self.redis.xdel(STREAM, entry_id)
        data = text_dict(raw)
        try:
            variables = {str(k): str(v) for k, v in json.loads(data.get("variables") or "{}").items()}
        except (ValueError, AttributeError):
            variables = {}
        return DialRequest(data.get("id", ""), data.get("uri", ""), data.get("instructions") or None, variables,
                           amd=data.get("amd") != "0", record=data.get("record") != "0")  # fmt: skip

    async def cancelled(self, dial_id: str) -> bool:
        return bool(await self.redis.hexists(f"dial:{dial_id}", "hang_up"))
