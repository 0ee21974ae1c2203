"""The engine on loopback for tests: served with the shared runtime, connected to in either
dialect; and the instructions and tool the engine tests configure sessions with."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from bot.engine.runtime import EngineRuntime
from bot.engine.server import create_app, tls_context
from bot.engine.stats import EngineStats
from bot.settings import Settings
from tests.client import RawClient

INSTRUCTIONS = (
    "You are the voice assistant of Acme Telecom. Be brief and friendly.\n"
    "Our opening hours are Monday to Friday, from 8 am to 6 pm.\n"
    "Returns are accepted within 30 days with the receipt."
)
ORDER_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_order_status",
    "description": "Look up the status of an order. Examples: where is my order; track my package",
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string", "description": "The order number"}},
        "required": ["order_id"],
    },
}


@contextlib.asynccontextmanager
async def serve_engine(runtime: EngineRuntime, **overrides: object) -> AsyncIterator[str]:
    """The real engine app on a free loopback port; yields its http (with a certificate: https) base URL."""
    settings = Settings(_env_file=None, **{**runtime.settings.model_dump(), **overrides})
    app = create_app(dataclasses.replace(runtime, settings=settings, stats=EngineStats()))
    app.cleanup_ctx.clear()  # the shared runtime outlives this app
    runner = web.AppRunner(app)
    await runner.setup()
    context = tls_context(settings)
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"{'https' if context else 'http'}://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def connect(url: str, *, dialect: str = "beta", path: str = "/v1/realtime") -> AsyncIterator[RawClient]:
    headers = {"OpenAI-Beta": "realtime=v1"} if dialect == "beta" else {}
    # Model names the SDK's types know, so its validators accept the echoed session.
    model = "gpt-realtime" if dialect == "ga" else "gpt-4o-realtime-preview"
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{url}{path}?model={model}", headers=headers) as ws:
        client = RawClient(ws, dialect)
        created = await client.recv()
        assert created["type"] == "session.created"
        yield client
