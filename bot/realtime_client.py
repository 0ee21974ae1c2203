"""One Realtime client for every engine: the local one, Azure Voice Live and OpenAI Realtime.

Code that uses it branches on `Capabilities`, never on which engine it is. Outgoing events are
written in the target's dialect; incoming ones are handed over with beta (canonical) names.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from bot.errors import VoicebotError

log = logging.getLogger(__name__)
Kind = Literal["local", "openai", "azure"]

# GA names → the canonical (beta) names the call session handles.
_CANONICAL = {
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
    "conversation.item.added": "conversation.item.created",
}


class EngineUnavailable(VoicebotError, ConnectionError):
    """The realtime engine could not be reached or refused the session; another try may work."""

    retryable = True


@dataclass(frozen=True)
class Capabilities:
    g711: bool = True  # takes and sends G.711 mu-law as is (no rate change at the edge)
    server_vad: bool = True
    input_transcription: bool = True
    ga_dialect: bool = False  # speaks GA event names and session shape
    semantic_vad: str | None = "semantic_vad"  # its name for semantic end of turn, if it has one
    noise_reduction: str | None = "near_field"  # its noise suppression type for a phone line, if any


@dataclass(frozen=True)
class RealtimeTarget:
    url: str  # ws(s)://host/v1/realtime?model=...
    kind: Kind = "local"
    api_key: str | None = None

    @property
    def capabilities(self) -> Capabilities:
        semantic = "azure_semantic_vad" if self.kind == "azure" else "semantic_vad"
        noise = "azure_deep_noise_suppression" if self.kind == "azure" else "near_field"
        return Capabilities(ga_dialect=self.kind == "openai", semantic_vad=semantic, noise_reduction=noise)

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.kind == "azure":
            if self.api_key:
                headers["api-key"] = self.api_key
        else:
            if self.api_key:
                headers["Authorization"] = f"Bearer {self.api_key}"
            if self.kind == "local":
                headers["OpenAI-Beta"] = "realtime=v1"
        return headers


@dataclass(frozen=True)
class TurnConfig:
    """How the engine finds the end of the caller's turn, and who decides an interruption.

    With `edge_interruption` (the default) the call session owns barge-in (pause, backchannel filter,
    cancel + truncate; see bot/turn_policies/barge_in.py) and asks for each reply itself, so the
    engine is told neither to interrupt nor to reply on its own. Without it the engine does both.
    """

    kind: Literal["server_vad", "semantic_vad"] = "semantic_vad"
    eagerness: Literal["low", "medium", "high", "auto"] = "high"  # semantic: how soon a finished turn ends
    silence_ms: int = 500  # server_vad
    edge_interruption: bool = True
    local_vad: bool = True  # the edge's own detector (echo-cancelled, echo-gated); else the engine's events
    echo_cancellation: bool = True  # speex AEC at the edge, the played audio as reference
    noise_reduction: bool = True  # ask the engine to suppress line noise (if it can)

    def to_wire(self, caps: Capabilities) -> dict[str, Any]:
        common = {"create_response": not self.edge_interruption, "interrupt_response": not self.edge_interruption}
        if self.kind == "semantic_vad" and caps.semantic_vad:
            return {"type": caps.semantic_vad, "eagerness": self.eagerness, **common}
        return {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                "silence_duration_ms": self.silence_ms, **common}  # fmt: skip


def session_update(
    caps: Capabilities,
    *,
    instructions: str,
    voice: str,
    tools: list[dict[str, Any]],
    turns: TurnConfig | None = None,
) -> dict[str, Any]:
    """The session.update a phone call needs, in the target's dialect: G.711 both ways, turn
    detection that interrupts replies, and input transcription for the call record."""
    turns = turns or TurnConfig()
    vad = turns.to_wire(caps)
    noise = {"type": caps.noise_reduction} if turns.noise_reduction and caps.noise_reduction else None
    if caps.ga_dialect:
        session: dict[str, Any] = {
            "type": "realtime", "instructions": instructions, "tools": tools,
            "audio": {"input": {"format": {"type": "audio/pcmu"}, "turn_detection": vad,
                                "transcription": {"model": "whisper-1"}, "noise_reduction": noise},
                      "output": {"format": {"type": "audio/pcmu"}, "voice": voice}},
        }  # fmt: skip
    else:
        session = {
            "instructions": instructions, "voice": voice, "tools": tools, "turn_detection": vad,
            "input_audio_format": "g711_ulaw", "output_audio_format": "g711_ulaw",
            "input_audio_transcription": {"model": "whisper-1"},
        }  # fmt: skip
        if noise:
            session["input_audio_noise_reduction"] = noise
    return {"type": "session.update", "session": session}


class RealtimeConnection:
    """One WebSocket. `send` applies backpressure (the socket's); `events()` yields parsed events."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse, target: RealtimeTarget):
        self._http = http
        self._ws = ws
        self.target = target
        self.capabilities = target.capabilities
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, target: RealtimeTarget, timeout_s: float = 5.0) -> RealtimeConnection:
        http = aiohttp.ClientSession()
        try:
            # The whole handshake is bounded: a caller hears ringing meanwhile.
            ws = await asyncio.wait_for(
                http.ws_connect(target.url, headers=target.headers(), max_msg_size=32 * 1024 * 1024), timeout_s
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            await http.close()
            raise EngineUnavailable(f"realtime engine at {target.url} unreachable: {exc}") from exc
        return cls(http, ws, target)

    async def send(self, event: dict[str, Any]) -> None:
        async with self._lock:
            await self._ws.send_str(json.dumps(event))

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                event = json.loads(msg.data)
            except ValueError:
                log.warning("engine sent a non-JSON message")
                continue
            event["type"] = _CANONICAL.get(event.get("type", ""), event.get("type"))
            yield event

    async def close(self) -> None:
        await self._ws.close()
        await self._http.close()
