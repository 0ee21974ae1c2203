"""One open MCP session to one server (streamable HTTP, the `mcp` package's client), kept for an
engine session's life: its tools are listed and called over the same session, so a call pays no
initialize round trips and a server that keeps per-session state keeps it.

The client's context managers run anyio task groups, which must be entered and left by one task:
the link's own task holds them, and requests are handed to it. Overflow policy: at most
`MAX_WAITING` requests wait; one more is refused at once. A request that fails or times out closes
the session (a half-answered session is not trusted again; the server's own error answer does not);
the next request opens a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2  # (the HTTP client the mcp package's transport is built on)
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_REQUEST

from bot.realtime.mcp_server_spec import McpServerSpec

log = logging.getLogger(__name__)
Work = Callable[[ClientSession], Awaitable[Any]]
Requests = asyncio.Queue[tuple[Work, "asyncio.Future[Any]"]]
MAX_WAITING = 8


class McpLinkError(RuntimeError):
    """The server could not be reached, or its session ended before it answered."""


class _SessionGone(Exception):
    """The server answered that it does not know this session (the request did not run)."""


def _session_gone(exc: MCPError) -> bool:
    """The mcp client's reading of HTTP 404 on a request with a session id (the server's own
    "Session not found", or its fallback "Session terminated")."""
    return exc.code == INVALID_REQUEST and "session" in exc.message.lower()


class McpLink:
    def __init__(self, server: McpServerSpec) -> None:
        self.server = server
        self.sessions_opened = 0  # (read by tests: how often a session had to be opened)
        self._requests: Requests = asyncio.Queue(MAX_WAITING)  # of the session now serving
        self._task: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()  # sessions closing after their last request

    async def request(self, work: Work, timeout_s: float) -> Any:
        """`work(session)`'s result, within `timeout_s` (else TimeoutError, and the session is closed).
        A server that no longer knows the session (it restarted: HTTP 404) never ran the request: it
        is sent once more, on a fresh session, as the MCP spec has clients do."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        try:
            return await self._once(work, timeout_s)
        except _SessionGone:
            log.info("mcp server %s no longer knows our session: opening a new one", self.server.label)
        try:
            return await self._once(work, max(0.0, deadline - asyncio.get_running_loop().time()))
        except _SessionGone as exc:
            raise McpLinkError(f"{self.server.label} refused a fresh session ({exc})") from None

    async def _once(self, work: Work, timeout_s: float) -> Any:
        if self._task is None or self._task.done():
            self._requests = asyncio.Queue(MAX_WAITING)
            self._task = asyncio.create_task(self._serve(self._requests), name=f"mcp-{self.server.label}")
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            self._requests.put_nowait((work, answer))
        except asyncio.QueueFull:
            raise McpLinkError(f"{MAX_WAITING} requests already wait for {self.server.label}") from None
        try:
            return await asyncio.wait_for(asyncio.shield(answer), timeout_s)
        except TimeoutError:
            await self.aclose()
            raise

    async def _serve(self, requests: Requests) -> None:
        """Open the session, then answer `requests` until one fails or the link is closed."""
        current: asyncio.Future[Any] | None = None
        try:
            async with (
                httpx2.AsyncClient(headers=dict(self.server.headers), timeout=httpx2.Timeout(30.0, read=300.0)) as http,
                streamable_http_client(self.server.url, http_client=http) as streams,
                ClientSession(streams[0], streams[1]) as session,
            ):
                await session.initialize()
                self.sessions_opened += 1
                while True:
                    work, current = await requests.get()
                    if current.done():  # (its caller stopped waiting)
                        continue
                    try:
                        current.set_result(await work(session))
                    except MCPError as exc:  # (the server's own error answer: the session is sound ...)
                        if not _session_gone(exc):
                            current.set_exception(exc)
                        else:  # (... unless it is the server not knowing the session)
                            self._retire(requests)
                            current.set_exception(_SessionGone(exc.message))
                            return
                    except Exception as exc:
                        self._retire(requests)
                        current.set_exception(exc)
                        return  # (a fresh session for the next request)
                    current = None
        except Exception as exc:  # (the server could not be reached, or its session broke)
            self._retire(requests)
            log.warning("mcp session to %s (%s) ended: %r", self.server.label, self.server.url, exc)
            _fail(requests, current, exc)
        finally:
            self._retire(requests)
            _fail(requests, current, McpLinkError(f"the session to {self.server.label} was closed"))

    def _retire(self, requests: Requests) -> None:
        """The session serving `requests` takes no more: the next request opens a new one (while this
        one closes, still owned)."""
        if self._requests is requests and self._task is not None:
            retiring, self._task = self._task, None
            self._retiring.add(retiring)
            retiring.add_done_callback(self._retiring.discard)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        await asyncio.gather(*([task] if task else []), *self._retiring, return_exceptions=True)


def _fail(requests: Requests, current: asyncio.Future[Any] | None, exc: Exception) -> None:
    """Every request a session will not answer gets `exc`."""
    waiting = [current] if current is not None else []
    while not requests.empty():
        waiting.append(requests.get_nowait()[1])
    for answer in waiting:
        if not answer.done():
            answer.set_exception(exc)
            answer.exception()  # (retrieved: a caller that stopped waiting leaves no warning)
