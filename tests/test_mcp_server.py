"""`voicebot mcp`: the contact-center tools served over MCP, listed and called by the `mcp` package's
own client over stdio, against the demo CRM in a real redis-server."""

from __future__ import annotations

import json
import os
from typing import Any

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from redis.asyncio import Redis

from flows.crm import seed
from tests.stack import VOICEBOT


async def test_the_flows_tools_are_listed_and_called_over_mcp(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await seed(redis)
    await redis.aclose()
    server = StdioServerParameters(command=str(VOICEBOT), args=["mcp", "--caller", "+15550100"],
                                   env={**os.environ, "REDIS_URL": redis_url})  # fmt: skip
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        listed = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert {"get_order_status", "verify_identity", "pay_bill", "transfer_to_agent"} <= listed.keys(), listed
        order = listed["get_order_status"]
        assert order.input_schema["required"] == ["order_id"] and "order" in (order.description or "").lower()

        async def call(name: str, **arguments: Any) -> Any:
            return await session.call_tool(name, arguments)

        shipped = await call("get_order_status", order_id="45721")
        assert not shipped.is_error and shipped.structured_content["status"] == "shipped", shipped
        assert json.loads(shipped.content[0].text)["status"] == "shipped"
        verified = await call("verify_identity", zip_code="94107")
        assert not verified.is_error, verified
        moved = await call("transfer_to_agent", reason="billing dispute")
        assert moved.structured_content["action"]["type"] == "transfer", moved  # (for the client to carry out)
        bad = await call("get_order_status")
        unknown = await call("launch_rocket")
        assert bad.is_error and unknown.is_error, (bad, unknown)
