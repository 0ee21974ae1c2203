"""Post-call delivery over the real stack: each ended call's document reaches a receiver once, signed,
through the receiver's outages and through the supervisor being killed before it could deliver."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from redis.asyncio import Redis

from flows.http_crm import verify
from tests.stack import free_port, running_stack, softphone

SECRET = "post-call-s3cret"


@dataclass
class Receiver:
    url: str
    fail_next: int = 0  # answer this many POSTs with 503
    attempts: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    signed: list[bool] = field(default_factory=list)

    async def document(self, call_id: str, within_s: float = 60) -> dict[str, Any]:
        async with asyncio.timeout(within_s):
            while True:  # (the supervisor, in another process, posts it: polled)
                found = [d for d in self.received if d["call_id"] == call_id]
                if found:
                    return found[0]
                await asyncio.sleep(0.2)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    port = free_port()
    state = Receiver(f"http://127.0.0.1:{port}/hooks/calls")

    async def handle(request: web.Request) -> web.Response:
        state.attempts += 1
        if state.fail_next:
            state.fail_next -= 1
            return web.Response(status=503)
        body = await request.read()
        state.signed.append(verify(SECRET, body, request.headers.get("X-Voicebot-Signature", ""), time.time()))
        document = json.loads(body)
        assert request.headers["X-Voicebot-Delivery"] == document["call_id"]
        state.received.append(document)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks/calls", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield state
    await runner.cleanup()


async def test_each_call_is_delivered_once_through_outages_and_a_killed_supervisor(tmp_path: Path,
                                                                                   receiver: Receiver) -> None:  # fmt: skip
    env = {"VOICEBOT_POST_CALL_URL": receiver.url, "VOICEBOT_POST_CALL_SECRET": SECRET,
           "VOICEBOT_POST_CALL_RETRY_S": "0.5"}  # fmt: skip
    receiver.fail_next = 2  # down for the first two attempts
    async with running_stack(tmp_path, workers=1, **env) as stack:
        code, out = await softphone(stack.uri, "Hi, um, what time do you open tomorrow?", "Great, that's all. Bye!")
        assert code == 0, out
        first = json.loads(out.strip().splitlines()[-1])["call_id"]
        document = await receiver.document(first)
        assert receiver.attempts == 3 and receiver.signed == [True], receiver
        assert document["record"]["outcome"] == "completed"
        assert any(line["role"] == "caller" and "open" in line["text"].lower() for line in document["transcript"])
        assert "end_call" in document["summary"] and document["summary"].startswith("The caller said:")
        port = stack.env["VOICEBOT_METRICS_PORT"]
        assert document["recording_url"] == f"http://127.0.0.1:{port}/recordings/{first}", document
        # Now the receiver is down, and the supervisor is killed before it could deliver the next call.
        receiver.fail_next = 1000
        code, out = await softphone(stack.uri, "Okay, goodbye.")
        second = json.loads(out.strip().splitlines()[-1])["call_id"]
        redis = Redis.from_url(stack.redis_url)
        try:
            async with asyncio.timeout(30):
                while not await redis.hget(f"postcall:{second}", "attempts"):  # noqa: ASYNC110 (one failed try)
                    await asyncio.sleep(0.2)
        finally:
            await redis.aclose()
        await asyncio.sleep(1.5)  # (Redis writes its append-only file every second)
        stack.proc.send_signal(signal.SIGKILL)
        await stack.proc.wait()
    receiver.fail_next = 0
    async with running_stack(tmp_path, workers=1, **env):
        await receiver.document(second)
        await asyncio.sleep(2.0)  # nothing more comes
    assert [d["call_id"] for d in receiver.received] == [first, second], receiver.received
    assert all(receiver.signed)


async def test_a_delivery_given_up_on_is_listed_as_failed(redis_url: str) -> None:
    import aiohttp

    from bot import post_call

    redis = Redis.from_url(redis_url.rsplit("/", 1)[0] + "/9")
    await redis.flushdb()
    try:
        await redis.zadd(post_call.DUE, {"call-lost": 0})
        deliverer = post_call.Deliverer(redis, f"http://127.0.0.1:{free_port()}/nobody", SECRET, retry_s=(0.0,))
        async with aiohttp.ClientSession() as http:
            results = [await deliverer.deliver(http, "call-lost") for _ in range(post_call.MAX_ATTEMPTS)]
        assert results == [False] * post_call.MAX_ATTEMPTS
        listed = await post_call.listing(redis)
        assert [(d["call_id"], d["state"], d["attempts"]) for d in listed] == [("call-lost", "failed", "10")], listed
        assert "ClientConnectorError" in listed[0]["error"] and not await redis.zcard(post_call.DUE)
    finally:
        await redis.flushdb()
        await redis.aclose()
