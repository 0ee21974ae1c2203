"""Server-side MCP tools in an engine session: for each `{"type": "mcp"}` tool of the session the engine
lists the server's tools (mcp_list_tools.in_progress, then .completed or .failed) over streamable HTTP
with the `mcp` package's client (one session per server, kept: bot/engine/mcp_link.py), offers them to the brain beside the function tools, and when the brain
calls one the engine calls it itself (the response's mcp_call item; bot/engine/response.py). A server
that cannot be listed or a call that fails is reported by name; the session and the reply go on."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.engine.brain.base import ToolSpec
from bot.engine.mcp_link import McpLink
from bot.realtime import ids
from bot.realtime.mcp_server_spec import McpServerSpec

log = logging.getLogger(__name__)
Emit = Callable[..., Awaitable[None]]
LIST_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 15.0
MAX_OUTPUT_CHARS = 16_000  # of a tool's result kept in the conversation


def _log_failure(task: asyncio.Task[None]) -> None:
    """A listing that ended on an error of its own (its reply's socket gone mid-way): seen in the log."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("listing the session's MCP servers failed", exc_info=exc)


class McpCatalog:
    """The session's MCP servers and the tools each one listed."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self.tools: dict[str, tuple[McpServerSpec, dict[str, Any]]] = {}  # tool name → (its server, its spec)
        self.links: dict[McpServerSpec, McpLink] = {}  # one open session per server
        self._listing: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def load(self, servers: tuple[McpServerSpec, ...]) -> None:
        """Replace the servers; their tools are listed in the background (a reply waits for it: `ready`)."""
        if self._listing is not None:
            self._listing.cancel()
        self.tools = {}
        for server in [s for s in self.links if s not in servers]:  # (servers no longer declared)
            closing = asyncio.create_task(self.links.pop(server).aclose(), name="mcp-close")
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        self._listing = asyncio.create_task(self._list_all(servers), name="mcp-list") if servers else None
        if self._listing is not None:
            self._listing.add_done_callback(_log_failure)

    async def ready(self) -> None:
        if self._listing is not None:
            await asyncio.gather(asyncio.shield(self._listing), return_exceptions=True)

    def specs(self) -> list[ToolSpec]:
        return [ToolSpec(name, spec.get("description") or "", spec.get("input_schema") or {"type": "object"})
                for name, (_, spec) in self.tools.items()]  # fmt: skip

    def server_of(self, name: str) -> McpServerSpec | None:
        entry = self.tools.get(name)
        return entry[0] if entry else None

    async def _list_all(self, servers: tuple[McpServerSpec, ...]) -> None:
        for server in servers:
            item_id = ids.item_id()
            await self._emit("mcp_list_tools.in_progress", item_id=item_id)
            try:
                listed = await self._link(server).request(lambda s: s.list_tools(), LIST_TIMEOUT_S)
            except Exception as exc:  # (any failure of a remote server: reported, the session goes on)
                log.warning("mcp server %s (%s) could not be listed: %r", server.label, server.url, exc)
                await self._emit("mcp_list_tools.failed", item_id=item_id)
                continue
            for tool in listed.tools:
                if server.allowed is None or tool.name in server.allowed:
                    spec = {"name": tool.name, "description": tool.description, "input_schema": tool.input_schema}
                    self.tools.setdefault(tool.name, (server, spec))
            await self._emit("mcp_list_tools.completed", item_id=item_id)

    async def call(self, name: str, arguments: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
        """(output, None) or (None, error) for a call to one of the listed tools."""
        server = self.server_of(name)
        if server is None:
            return None, {"type": "tool_execution_error", "message": f"no MCP server lists a tool {name!r}"}
        try:
            result = await self._link(server).request(lambda s: s.call_tool(name, arguments), CALL_TIMEOUT_S)
        except Exception as exc:
            log.warning("mcp tool %s on %s failed: %r", name, server.label, exc)
            return None, {
                "type": "http_error",
                "code": 502,
                "message": f"the MCP server {server.label} did not answer ({type(exc).__name__})",
            }
        structured = getattr(result, "structured_content", None)
        text = json.dumps(structured) if structured is not None else " ".join(
            getattr(part, "text", "") for part in getattr(result, "content", []))  # fmt: skip
        if getattr(result, "is_error", False):
            return None, {"type": "tool_execution_error", "message": text[:1000]}
        return text[:MAX_OUTPUT_CHARS], None

    def _link(self, server: McpServerSpec) -> McpLink:
        if server not in self.links:
            self.links[server] = McpLink(server)
        return self.links[server]

    async def aclose(self) -> None:
        if self._listing is not None:
            self._listing.cancel()
            await asyncio.gather(self._listing, return_exceptions=True)
        links, self.links = list(self.links.values()), {}
        await asyncio.gather(*(link.aclose() for link in links), *self._closing, return_exceptions=True)
