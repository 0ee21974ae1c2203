"""The HTTP CRM connector against a CRM stand-in on loopback (real aiohttp server, real Redis behind it):
signed requests, retries on 5xx, a timeout that becomes a spoken apology."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from flows.call_state import FlowState
from flows.contact_center import build_registry
from flows.http_crm import CrmUnavailable, HttpCrm
from flows.registry import CallContext
from tests.stack import CRM_SECRET


async def test_signed_lookup_with_a_retry_after_503(crm_server: tuple[str, dict[str, Any]]) -> None:
    url, behaviour = crm_server
    crm = HttpCrm(url, CRM_SECRET)
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
    crm = HttpCrm(url, CRM_SECRET, timeout_s=0.2, retries=1)
    redis = Redis.from_url(redis_url)
    try:
        tools = build_registry(crm, FlowState(redis))
        result = await tools.call("get_order_status", '{"order_id": "45721"}', CallContext("c", "a", "b"))
        assert result.output == {"error": "I couldn't reach that system just now"}
    finally:
        await crm.aclose()
        await redis.aclose()
