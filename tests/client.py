"""A raw Realtime client over aiohttp that checks every server event against the openai SDK's types."""

from __future__ import annotations

import asyncio
import base64
import json
import typing
from typing import Any

import aiohttp
from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent
from openai.types.realtime import RealtimeServerEvent as GAServerEvent
from pydantic import TypeAdapter

from bot.audio import g711
from tests import voice_live_schema


def _by_type(union: Any) -> dict[str, TypeAdapter[Any]]:
    """The SDK's server event union, keyed by each member's `type` literal (precise error messages)."""
    members = (
        typing.get_args(typing.get_args(union)[0])
        if typing.get_origin(union) is typing.Annotated
        else typing.get_args(union)
    )
    out = {}
    for model in members:
        literal = model.model_fields["type"].annotation
        out[typing.get_args(literal)[0]] = TypeAdapter(model)
    return out


_VALIDATORS = {"beta": _by_type(BetaServerEvent), "ga": _by_type(GAServerEvent)}
WAIT_S = 60.0  # generous: a slow CI machine must not fail a behaviour test


class RawClient:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, dialect: str) -> None:
        self.ws = ws
        self.dialect = dialect
        self.events: list[dict[str, Any]] = []

    async def send(self, event: dict[str, Any]) -> None:
        await self.ws.send_json(event)

    async def send_raw(self, data: str) -> None:
        await self.ws.send_str(data)

    async def append(self, audio: bytes, chunk: int = 3200) -> None:
        for i in range(0, len(audio), chunk):
            await self.send(
                {"type": "input_audio_buffer.append", "audio": base64.b64encode(audio[i : i + chunk]).decode()}
            )

    async def recv(self) -> dict[str, Any]:
        msg = await asyncio.wait_for(self.ws.receive(), WAIT_S)
        assert msg.type == aiohttp.WSMsgType.TEXT, f"socket said {msg.type}: {msg.data!r}"
        event: dict[str, Any] = json.loads(msg.data)
        known = _VALIDATORS["beta" if self.dialect == "voice-live" else self.dialect]
        if event["type"] not in known and self.dialect != "ga":  # (Voice Live's own events: its SDK's models)
            voice_live_schema.validate(event)
        else:
            assert event["type"] in known, f"{event['type']} is not a {self.dialect} server event"
            known[event["type"]].validate_python(_as_openai(event) if self.dialect == "voice-live" else event)
        self.events.append(event)
        return event

    async def until(self, kind: str) -> list[dict[str, Any]]:
        """Events up to and including the next one of type `kind`."""
        got = []
        while True:
            event = await self.recv()
            got.append(event)
            if event["type"] == kind:
                return got


def _as_openai(event: dict[str, Any]) -> dict[str, Any]:
    """Where Voice Live leaves OpenAI's beta types: its extra output rates (pcm16_16000hz...) and its
    own noise suppression type."""
    session = event.get("session")
    if not isinstance(session, dict):
        return event
    session = dict(session)
    if str(session.get("output_audio_format", "")).startswith("pcm16_"):
        session["output_audio_format"] = "pcm16"
    noise = session.get("input_audio_noise_reduction")
    if isinstance(noise, dict) and noise.get("type") == "azure_deep_noise_suppression":
        session["input_audio_noise_reduction"] = {**noise, "type": "near_field"}
    return {**event, "session": session}


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def audio_of(events: list[dict[str, Any]], fmt: str) -> bytes:
    """The concatenated reply audio as pcm16 (at the format's own rate)."""
    wire = b"".join(
        base64.b64decode(e["delta"])
        for e in events
        if e["type"] in ("response.audio.delta", "response.output_audio.delta")
    )
    return g711.ulaw_to_pcm16(wire) if fmt == "g711_ulaw" else wire


def compress(names: list[str]) -> list[str]:
    """Collapse runs of the same event type, to compare sequences without counting deltas."""
    out: list[str] = []
    for name in names:
        if not out or out[-1] != name:
            out.append(name)
    return out
