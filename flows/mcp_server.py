"""The contact-center tools as an MCP server (`voicebot mcp`), so a cloud engine (Voice Live, OpenAI
Realtime with server-side MCP, our own engine) can call the same business tools the offline bot does.
Built on the `mcp` package's server, over stdio or streamable HTTP (``/mcp``): each client session is
one conversation, with one call id for the flows' per-call state (who was verified, what a payment
waits for). Each tool's JSON schema and
description are the registry's own; a result is its output as JSON text and as structured content,
an error result when the tool reports one; the call actions (hang up, transfer, keys) come back as
fields of the result for the client to carry out."""

from __future__ import annotations

import json
import uuid
import weakref
from typing import Any

import mcp.types as types
import uvicorn
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from redis.asyncio import Redis

from bot.settings import Settings
from flows.call_state import FlowState
from flows.callbacks import CallbackBook
from flows.contact_center import build_registry, instructions
from flows.crm import Crm, CrmBackend
from flows.http_crm import HttpCrm
from flows.registry import CallContext, ToolRegistry, ToolResult


def result_of(outcome: ToolResult) -> types.CallToolResult:
    structured: dict[str, Any] = dict(outcome.output)
    if outcome.action is not None:
        structured["action"] = {"type": outcome.action, **outcome.action_args}
    return types.CallToolResult(content=[types.TextContent(text=json.dumps(structured))], structured_content=structured,
                                is_error="error" in outcome.output)  # fmt: skip


def flows_server(registry: ToolRegistry, caller: str = "", call_id: str | None = None) -> Server[Any]:
    """Each client session is one conversation with its own call id (`call_id` for the first: a
    stdio server has one client)."""
    tools = [types.Tool(name=s["name"], description=s["description"], input_schema=s["parameters"])
             for s in registry.schemas()]  # fmt: skip
    contexts: weakref.WeakKeyDictionary[Any, CallContext] = weakref.WeakKeyDictionary()
    first = [call_id]

    def context_of(session: Any) -> CallContext:
        if session not in contexts:
            given = first.pop() if first else None
            contexts[session] = CallContext(given or f"mcp-{uuid.uuid4().hex[:16]}", caller, "bot")
        return contexts[session]

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        # (the registry never raises: an unknown tool or bad arguments come back as a spoken-friendly error)
        return result_of(await registry.call(params.name, json.dumps(params.arguments or {}), context_of(ctx.session)))

    return Server("voicebot-flows", version="1", instructions=instructions(), on_list_tools=list_tools,
                  on_call_tool=call_tool)  # fmt: skip


async def serve(settings: Settings, caller: str = "", call_id: str | None = None, http_port: int | None = None,
                host: str = "127.0.0.1") -> None:  # fmt: skip
    redis = Redis.from_url(settings.redis_url or "redis://127.0.0.1:6379/0", socket_timeout=2, socket_connect_timeout=2)
    crm: CrmBackend = Crm(redis)
    if settings.crm_url:
        crm = HttpCrm(settings.crm_url, settings.crm_secret.get_secret_value() if settings.crm_secret else "")
    state = FlowState(redis)
    registry = build_registry(
        crm, state, callbacks=CallbackBook(redis, state, settings.timezone, settings.callback_soon_s)
    )
    server = flows_server(registry, caller, call_id)
    try:
        if http_port is None:
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())
        else:  # streamable HTTP at /mcp: what a cloud engine's server_url points at
            app = server.streamable_http_app(host=host)
            await uvicorn.Server(uvicorn.Config(app, host=host, port=http_port, log_level="warning")).serve()
    finally:
        if isinstance(crm, HttpCrm):
            await crm.aclose()
        await redis.aclose()
