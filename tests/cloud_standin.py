"""A loopback stand-in for a cloud realtime service — OpenAI Realtime (GA) or Azure Voice Live — for
the edge's `VOICEBOT_REALTIME_KIND=openai` / `azure`. The cloud cannot be reached from here, so the
stand-in checks what the service would: the handshake (OpenAI: `Authorization: Bearer`, no beta
header, `model`; Voice Live: the `api-key` header, `api-version` and `model`), and every client
event against the service's published types (the openai package's GA `RealtimeClientEvent`, unknown
fields included; the azure-ai-voicelive SDK's client event models). It then passes the event to our
engine, whose server events are in the documented shapes (tests/client.py checks them against the
same packages), and passes those back. Every refusal is kept in `violations`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiohttp import web
from openai.types.realtime import RealtimeClientEvent
from pydantic import BaseModel, TypeAdapter, ValidationError

from tests import voice_live_schema

Kind = Literal["openai", "azure"]
_GA_CLIENT: TypeAdapter[Any] = TypeAdapter(RealtimeClientEvent)
PATHS = {"openai": "/v1/realtime", "azure": "/voice-live/realtime"}


def _extras(value: Any, where: str) -> list[str]:
    """Fields the SDK's models do not declare, anywhere in a validated event (its models keep them as extras)."""
    if isinstance(value, BaseModel):
        found = [f"{where}.{name}" for name in (value.model_extra or {})]
        for name in type(value).model_fields:
            found += _extras(getattr(value, name), f"{where}.{name}")
        return found
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _extras(v, f"{where}[{i}]")]
    return []


def check_ga(event: dict[str, Any]) -> str | None:
    """Why OpenAI's GA API would refuse this client event; None if it would take it."""
    try:
        model = _GA_CLIENT.validate_python(event)
    except ValidationError as exc:
        return f"{event.get('type')}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}"
    extra = _extras(model, str(event.get("type")))
    return f"not in the GA types: {extra}" if extra else None


def check_voice_live(event: dict[str, Any]) -> str | None:
    try:
        voice_live_schema.validate_client(event)
    except AssertionError as exc:
        return str(exc)
    return None


@dataclass
class CloudStandIn:
    kind: Kind
    upstream: str = ""  # our engine's http://host:port (set once it is up)
    api_key: str = "cloud-k3y"
    violations: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def _handshake_problem(self, request: web.Request) -> str | None:
        if request.path != PATHS[self.kind]:
            return f"path {request.path}"
        if not request.query.get("model"):
            return "no model in the query"
        if self.kind == "openai":
            if request.headers.get("Authorization") != f"Bearer {self.api_key}":
                return "no Authorization: Bearer <key>"
            if "OpenAI-Beta" in request.headers:
                return "a beta header on the GA API"
        else:
            if request.headers.get("api-key") != self.api_key:
                return "no api-key header"
            if not request.query.get("api-version"):
                return "no api-version in the query"
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        problem = self._handshake_problem(request)
        if problem is not None:
            self.violations.append(f"handshake: {problem}")
            return web.json_response({"error": {"message": problem}}, status=401)
        client = web.WebSocketResponse(max_msg_size=32 * 1024 * 1024)
        await client.prepare(request)
        target = f"{self.upstream.replace('http', 'ws', 1)}{PATHS[self.kind]}?model={request.query['model']}"
        check = check_ga if self.kind == "openai" else check_voice_live
        async with aiohttp.ClientSession() as http, http.ws_connect(target, max_msg_size=32 * 1024 * 1024) as engine:

            async def down() -> None:
                async for msg in engine:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        await client.send_str(msg.data)

            relay = asyncio.create_task(down())
            try:
                async for msg in client:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    event = json.loads(msg.data)
                    if event.get("type") != "input_audio_buffer.append":
                        self.received.append(event)
                    if (why := check(event)) is not None:
                        self.violations.append(why)
                    await engine.send_str(msg.data)
            finally:
                relay.cancel()
                await asyncio.gather(relay, return_exceptions=True)
        return client


@asynccontextmanager
async def cloud_standin(kind: Kind) -> AsyncIterator[CloudStandIn]:
    standin = CloudStandIn(kind)
    app = web.Application()
    app.router.add_get(PATHS[kind], standin.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    query = "model=gpt-realtime" + ("&api-version=2025-10-01" if kind == "azure" else "")
    standin.url = f"ws://127.0.0.1:{port}{PATHS[kind]}?{query}"
    try:
        yield standin
    finally:
        await runner.cleanup()
