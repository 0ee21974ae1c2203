"""One connection to a realtime engine (the local one, Azure Voice Live, OpenAI Realtime), with the
verbs a call needs instead of raw events.

Each engine kind declares its `Capabilities`; the edge branches on them, never on the kind. Outgoing
events are the typed models of `bot.realtime.client_events`; incoming ones are handed over with
canonical (beta) names whatever the dialect.

Writing: control events (cancel, truncate, a reply asked for...) never queue behind audio. Verbs
only enqueue; `pump`, run by the connection's owner, writes control first, then audio. Overflow
policy: at most `AUDIO_BACKLOG` audio appends wait (a stalled socket; the oldest is dropped and
counted); more than `CONTROL_BACKLOG` control events waiting means the engine stopped reading, and
fails the connection (`EngineBackedUp`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import aiohttp

from bot.errors import VoicebotError
from bot.log_format import CALL_ID_HEADER
from bot.realtime.client_events import (
    ConversationItemCreate,
    ConversationItemDelete,
    ConversationItemTruncate,
    FunctionCallOutputItem,
    InputAudioBufferAppend,
    ItemParam,
    MessageItem,
    ResponseCancel,
    ResponseCreate,
    ResponseParams,
    SessionUpdate,
)
from bot.realtime.dialect import Dialect, canonical_name
from bot.realtime.say import say_instructions

log = logging.getLogger(__name__)
Kind = Literal["local", "openai", "azure"]
AUDIO_BACKLOG = 50  # appends (40 ms each): 2 s of caller audio
CONTROL_BACKLOG = 256


class EngineUnavailable(VoicebotError, ConnectionError):
    """The realtime engine could not be reached or refused the session; another try may work."""

    retryable = True


class EngineBackedUp(VoicebotError, ConnectionError):
    """The engine has not read this connection's control events for a long time."""


@dataclass(frozen=True)
class Capabilities:
    """What an engine kind speaks and offers, declared once per kind in `ENGINES`."""

    dialect: Dialect  # event names and session shape
    semantic_vad: str | None  # its name for semantic end of turn, if it has one
    noise_reduction: str | None  # its noise suppression type for a phone line, if any
    auth: Literal["bearer", "api-key"]  # how the key is sent
    beta_header: bool  # sends `OpenAI-Beta: realtime=v1` (beta event names on the local engine)


ENGINES: dict[Kind, Capabilities] = {
    "local": Capabilities(Dialect.BETA, "semantic_vad", "near_field", "bearer", beta_header=True),
    "openai": Capabilities(Dialect.GA, "semantic_vad", "near_field", "bearer", beta_header=False),
    "azure": Capabilities(Dialect.BETA, "azure_semantic_vad", "azure_deep_noise_suppression", "api-key", False),
}


@dataclass(frozen=True)
class RealtimeTarget:
    url: str  # ws(s)://host/v1/realtime?model=...
    kind: Kind = "local"
    api_key: str | None = None
    # The whole handshake, while the caller hears ringing. Generous: an engine that many calls reach
    # at once answers late, not never, and every handshake given up on was work it did for nobody.
    connect_timeout_s: float = 15.0
    ca_file: str | None = None  # trusted for a wss:// engine (a self-signed certificate, say)
    call_id: str | None = None  # the call a session is for: our engine logs under it

    def ssl(self) -> ssl.SSLContext | bool:
        """aiohttp's `ssl`: the system's CAs (True), or a context that trusts `ca_file` too."""
        if not self.ca_file:
            return True
        context = ssl.create_default_context(cafile=self.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    @property
    def capabilities(self) -> Capabilities:
        return ENGINES[self.kind]

    def headers(self) -> dict[str, str]:
        caps = self.capabilities
        headers: dict[str, str] = {}
        if self.api_key:
            if caps.auth == "api-key":
                headers["api-key"] = self.api_key
            else:
                headers["Authorization"] = f"Bearer {self.api_key}"
        if caps.beta_header:
            headers["OpenAI-Beta"] = "realtime=v1"
        if self.call_id and self.kind == "local":
            headers[CALL_ID_HEADER] = self.call_id
        return headers


class Transport(Protocol):
    """Text messages both ways: a WebSocket, or an in-memory peer in the unit tests."""

    async def send_str(self, text: str) -> None: ...
    async def receive(self) -> str | None: ...  # None: closed
    async def close(self) -> None: ...


class WebSocketTransport:
    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._http, self._ws = http, ws

    async def send_str(self, text: str) -> None:
        await self._ws.send_str(text)

    async def receive(self) -> str | None:
        while True:
            msg = await self._ws.receive()
            if msg.type == aiohttp.WSMsgType.TEXT:
                return str(msg.data)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.ERROR):  # fmt: skip
                return None

    async def close(self) -> None:
        await self._ws.close()
        await self._http.close()


async def open_websocket(target: RealtimeTarget) -> RealtimeConnection:
    http = aiohttp.ClientSession()
    try:
        ws = await asyncio.wait_for(
            http.ws_connect(target.url, headers=target.headers(), max_msg_size=32 * 1024 * 1024, ssl=target.ssl()),
            target.connect_timeout_s,
        )
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        await http.close()
        raise EngineUnavailable(f"realtime engine at {target.url} unreachable: {exc}") from exc
    return RealtimeConnection(WebSocketTransport(http, ws), target.capabilities)


class RealtimeConnection:
    def __init__(self, transport: Transport, capabilities: Capabilities) -> None:
        self._transport = transport
        self.capabilities = capabilities
        self._control: deque[str] = deque()
        self._audio: deque[str] = deque(maxlen=AUDIO_BACKLOG)
        self._wake = asyncio.Event()
        self.audio_dropped = 0

    # --- verbs (never block: `pump` writes) ------------------------------------------------------
    def update_session(self, update: SessionUpdate) -> None:
        self._queue(update.to_wire())

    def append_audio(self, audio: bytes) -> None:
        if len(self._audio) == self._audio.maxlen:
            self.audio_dropped += 1
        self._audio.append(json.dumps(InputAudioBufferAppend.of(audio).to_wire()))
        self._wake.set()

    def cancel(self) -> None:
        self._queue(ResponseCancel(type="response.cancel").to_wire())

    def truncate(self, item_id: str, audio_end_ms: int) -> None:
        event = ConversationItemTruncate(type="conversation.item.truncate", item_id=item_id, content_index=0,
                                         audio_end_ms=max(0, audio_end_ms))  # fmt: skip
        self._queue(event.to_wire())

    def delete_item(self, item_id: str) -> None:
        self._queue(ConversationItemDelete(type="conversation.item.delete", item_id=item_id).to_wire())

    def create_response(self, instructions: str | None = None) -> None:
        params = ResponseParams(instructions=instructions) if instructions else None
        self._queue(ResponseCreate(type="response.create", response=params).to_wire())

    def say(self, text: str) -> None:
        """Ask for a reply that is exactly `text` (see bot/realtime/say.py)."""
        self.create_response(say_instructions(text))

    def send_text(self, text: str) -> None:
        """A caller turn that came as text (a keypad entry)."""
        item = MessageItem.model_validate(
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        )
        self._queue(ConversationItemCreate(type="conversation.item.create", item=item).to_wire())

    def send_tool_output(self, call_id: str, output: Any) -> None:
        item = FunctionCallOutputItem(type="function_call_output", call_id=call_id, output=json.dumps(output))
        self._queue(ConversationItemCreate(type="conversation.item.create", item=item).to_wire())

    def replay(self, items: list[ItemParam]) -> None:
        """Items of an earlier session, in order, into this one (after the engine was lost)."""
        for item in items:
            self._queue(ConversationItemCreate(type="conversation.item.create", item=item).to_wire())

    def _queue(self, event: dict[str, Any]) -> None:
        if len(self._control) >= CONTROL_BACKLOG:
            raise EngineBackedUp(f"{len(self._control)} control events unsent: the engine stopped reading")
        self._control.append(json.dumps(event))
        self._wake.set()

    # --- the owner runs these --------------------------------------------------------------------
    async def pump(self) -> None:
        """Write what the verbs queued, control first, until cancelled; a failed write raises."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._control or self._audio:
                text = self._control.popleft() if self._control else self._audio.popleft()
                await self._transport.send_str(text)

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Server events, parsed, with canonical names, until the engine closes the connection."""
        while (text := await self._transport.receive()) is not None:
            try:
                event = json.loads(text)
            except ValueError:
                log.warning("engine sent a non-JSON message")
                continue
            if not isinstance(event, dict):
                log.warning("engine sent a JSON message that is not an event")
                continue
            event["type"] = canonical_name(str(event.get("type", "")))
            yield event

    async def close(self) -> None:
        await self._transport.close()
