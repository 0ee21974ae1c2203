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
from collections import OrderedDict
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

MAX_SESSIONS = 4096  # conversations remembered; overflow policy: the least recently used is forgotten


def result_of(outcome: ToolResult) -> types.CallToolResult:
    structured: dict[str, Any] = dict(outcome.output)
    if outcome.action is not None:
        structured["action"] = {"type": outcome.action, **outcome.action_args}
    return types.CallToolResult(content=[types.TextContent(text=json.dumps(structured))], structured_content=structured,
                                is_error="error" in outcome.output)  # fmt: skip


def flows_server(registry: ToolRegistry, caller: str = "", call_id: str | None = None) -> Server[Any]:
    """Each client session is one conversation with its own call id (`call_id` for the first: a
    stdio server has one client), kept from one request to the next."""
    tools = [types.Tool(name=s["name"], description=s["description"], input_schema=s["parameters"])
             for s in registry.schemas()]  # fmt: skip
    if caller and "sip:" not in caller:  # (a plain number, as `voicebot mcp --caller` takes it: as a caller ID)
        caller = f"<sip:{caller}@mcp>"
    contexts: OrderedDict[Any, CallContext] = OrderedDict()  # by session, the most recent last
    first = [call_id]

    def context_of(ctx: ServerRequestContext[Any]) -> CallContext:
        # (each request has a ServerSession of its own: over HTTP the session is its Mcp-Session-Id header,
        # over stdio the one client; a stateless HTTP request without one is a conversation of its own)
        headers = getattr(ctx.request, "headers", None)
        key = "stdio" if ctx.request is None else (headers.get("mcp-session-id") if headers is not None else None)
        key = key or uuid.uuid4().hex
        if key not in contexts:
            given = first.pop() if first else None
            contexts[key] = CallContext(given or f"mcp-{uuid.uuid4().hex[:16]}", caller, "bot")
            if len(contexts) > MAX_SESSIONS:
                contexts.popitem(last=False)
        contexts.move_to_end(key)
        return contexts[key]

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        # (the registry never raises: an unknown tool or bad arguments come back as a spoken-friendly error)
        return result_of(await registry.call(params.name, json.dumps(params.arguments or {}), context_of(ctx)))

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
