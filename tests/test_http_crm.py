"""The HTTP CRM connector against a CRM stand-in on loopback (real aiohttp server, real Redis behind it):
signed requests, retries on 5xx, a timeout that becomes a spoken apology."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from redis.asyncio import Redis

from flows.call_state import FlowState
from flows.contact_center import build_registry
from flows.crm import Crm, seed
from flows.http_crm import CrmUnavailable, HttpCrm, verify
from flows.registry import CallContext

SECRET = "s3cret"


@pytest.fixture
async def crm_server(redis_url: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await seed(redis)
    backend = Crm(redis)
    behaviour: dict[str, Any] = {"fail_next": 0, "delay_s": 0.0, "requests": 0}

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        behaviour["requests"] += 1
        if not verify(SECRET, body, request.headers.get("X-Voicebot-Signature", ""), time.time()):
            return web.json_response({"error": "bad signature"}, status=401)
        if behaviour["fail_next"] > 0:
            behaviour["fail_next"] -= 1
            return web.json_response({"error": "busy"}, status=503)
        await asyncio.sleep(behaviour["delay_s"])
        call = json.loads(body)
        return web.json_response({"result": await getattr(backend, call["op"])(**call["args"])})

    app = web.Application()
    app.router.add_post("/crm", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/crm", behaviour
    await runner.cleanup()
    await redis.aclose()


async def test_signed_lookup_with_a_retry_after_503(crm_server: tuple[str, dict[str, Any]]) -> None:
    url, behaviour = crm_server
    crm = HttpCrm(url, SECRET)
    try:
        behaviour["fail_next"] = 1
        order = await crm.order("45721")
        assert order is not None and order["status"] == "shipped"
        assert behaviour["requests"] == 2
        assert await crm.order("00000") is None
    finally:
        await crm.aclose()


async def test_wrong_secret_is_refused_without_retrying(crm_server: tuple[str, dict[str, Any]]) -> None:
    url, behaviour = crm_server
    crm = HttpCrm(url, "not-the-secret")
    try:
        with pytest.raises(CrmUnavailable, match="401"):
            await crm.order("45721")
        assert behaviour["requests"] == 1
    finally:
        await crm.aclose()


async def test_a_slow_crm_becomes_a_spoken_apology(crm_server: tuple[str, dict[str, Any]], redis_url: str) -> None:
    url, behaviour = crm_server
    behaviour["delay_s"] = 1.0
    crm = HttpCrm(url, SECRET, timeout_s=0.2, retries=1)
    redis = Redis.from_url(redis_url)
    try:
        tools = build_registry(crm, FlowState(redis))
        result = await tools.call("get_order_status", '{"order_id": "45721"}', CallContext("c", "a", "b"))
        assert result.output == {"error": "I couldn't reach that system just now"}
    finally:
        await crm.aclose()
        await redis.aclose()
