"""MCP both ways: `voicebot mcp` serves the contact-center tools (listed and called by the `mcp`
package's own client over stdio, against the demo CRM in a real redis-server), and the engine calls an
MCP server's tools itself when a session declares one (over streamable HTTP)."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from redis.asyncio import Redis

from bot.engine.mcp_tools import McpCatalog
from bot.realtime.mcp_server_spec import McpServerSpec
from flows.crm import seed
from tests.audio import phone_pcm, silence
from tests.client import RawClient, types
from tests.engine_setup import INSTRUCTIONS
from tests.stack import VOICEBOT, free_port


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
        verified = await call("verify_identity", zip_code="94107")  # (found by the caller's number)
        assert not verified.is_error and "verified" in verified.structured_content["message"], verified
        balance = await call("get_balance")  # (the session is one call: the caller stays verified)
        assert "$42.50" in balance.structured_content["message"], balance
        moved = await call("transfer_to_agent", reason="billing dispute")
        assert moved.structured_content["action"]["type"] == "transfer", moved  # (for the client to carry out)
        bad = await call("get_order_status")
        unknown = await call("launch_rocket")
        assert bad.is_error and unknown.is_error, (bad, unknown)


async def test_the_engine_calls_an_mcp_servers_tool_during_a_voice_turn(redis_url: str, ga: RawClient) -> None:
    """A GA session declares our flows' MCP server (voicebot mcp --http, the mcp package's server); the
    caller asks about an order by voice; the engine lists the server's tools, calls the one the brain
    chose itself, and says its result, all in one response."""
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await seed(redis)
    await redis.aclose()
    port = free_port()
    server = await asyncio.create_subprocess_exec(VOICEBOT, "mcp", "--http", str(port), env={**os.environ, "REDIS_URL": redis_url},
                                                  stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)  # fmt: skip
    try:
        await until_listening(port)
        acme = {"type": "mcp", "server_label": "acme", "server_url": f"http://127.0.0.1:{port}/mcp",
                "allowed_tools": ["get_order_status", "answer_question"], "require_approval": "never"}  # fmt: skip
        await ga.send({"type": "session.update", "session": {"type": "realtime", "instructions": INSTRUCTIONS, "tools": [acme],
                       "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}},
                                 "output": {"format": {"type": "audio/pcm", "rate": 24000}}}}})  # fmt: skip
        listed = await ga.until("mcp_list_tools.completed")
        assert "mcp_list_tools.in_progress" in types(listed)
        updated = next(e for e in listed if e["type"] == "session.updated")["session"]
        assert updated["tools"][0]["server_label"] == "acme" and "headers" not in updated["tools"][0]
        await ga.append(phone_pcm("Hi, um, where's my order? It's 4 5 7 2 1.", 24000) + silence("pcm16", 1200))
        events = await ga.until("response.done")
    finally:
        server.terminate()
        await server.wait()
    done = events[-1]["response"]
    call, message = done["output"][0], done["output"][-1]
    assert call["type"] == "mcp_call" and call["name"] == "get_order_status" and call["server_label"] == "acme", call
    assert json.loads(call["arguments"]) == {"order_id": "45721"} and "shipped" in (call["output"] or ""), call
    assert "response.mcp_call.completed" in types(events)
    said = message["content"][0]["transcript"].lower()
    assert "shipped" in said and "friday" in said, said


async def test_the_engine_keeps_one_mcp_session_per_server_so_what_the_server_remembers_holds(redis_url: str) -> None:
    """An engine session lists a server's tools and calls them over one MCP session, kept: a caller
    verified by one call is still verified at the next (our flows server keeps that per MCP session,
    over streamable HTTP too). A server that restarts forgets the session (HTTP 404): the next call
    opens a fresh one and goes through, as the MCP spec has clients do."""
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await seed(redis)
    await redis.aclose()
    port = free_port()

    async def start() -> asyncio.subprocess.Process:
        server = await asyncio.create_subprocess_exec(VOICEBOT, "mcp", "--http", str(port), env={**os.environ, "REDIS_URL": redis_url},
                                                      stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)  # fmt: skip
        await until_listening(port)
        return server

    async def emit(kind: str, **fields: Any) -> None:
        events.append(kind)

    events: list[str] = []
    spec = McpServerSpec("acme", f"http://127.0.0.1:{port}/mcp")
    catalog = McpCatalog(emit)
    server = await start()
    try:
        catalog.load((spec,))
        await catalog.ready()
        assert events == ["mcp_list_tools.in_progress", "mcp_list_tools.completed"] and "get_balance" in catalog.tools
        verified, error = await catalog.call("verify_identity", {"account_id": "C1001", "zip_code": "94107"})
        assert error is None and "verified" in (verified or ""), (verified, error)
        balance, error = await catalog.call("get_balance", {})
        assert error is None and "$42.50" in (balance or ""), (balance, error)
        assert catalog.links[spec].sessions_opened == 1
        server.terminate()
        await server.wait()
        server = await start()
        again, error = await catalog.call("get_balance", {})
        assert error is None and "verify" in (again or "").lower(), (again, error)  # (a new conversation)
        assert catalog.links[spec].sessions_opened == 2
    finally:
        await catalog.aclose()
        server.terminate()
        await server.wait()


async def test_an_mcp_server_that_cannot_be_reached_is_reported_and_the_session_goes_on(ga: RawClient) -> None:
    gone = {"type": "mcp", "server_label": "gone", "server_url": f"http://127.0.0.1:{free_port()}/mcp"}
    await ga.send({"type": "session.update", "session": {"type": "realtime", "tools": [gone]}})
    assert "mcp_list_tools.failed" in types(await ga.until("mcp_list_tools.failed"))
    await ga.send(
        {"type": "response.create", "response": {"instructions": 'Say "Still here."', "output_modalities": ["text"]}}
    )
    assert (await ga.until("response.done"))[-1]["response"]["status"] == "completed"
    approval = {**gone, "require_approval": "always"}
    await ga.send({"type": "session.update", "session": {"type": "realtime", "tools": [approval]}})
    error = (await ga.until("error"))[-1]["error"]
    assert error["param"] == "session.tools[0].require_approval" and error["code"] == "unsupported_parameter"


async def until_listening(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")
