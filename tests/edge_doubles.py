"""In-memory peers of a call session, for unit tests on a virtual clock (looptime): a call port with
its media clock, and a Realtime engine behind an in-memory transport.

The engine parses every client event with the engine's own parser (`parse_client_event`), so what
the session writes is checked against the protocol models; it answers as the Realtime API does:
response.created, audio deltas, transcript, response.done; a cancelled reply ends `cancelled`.
The caller's speech is a span of loud frames on the line (the test front end calls any non-zero
frame speech) plus the engine's VAD events and transcript for it.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import looptime

from bot.audio import g711
from bot.audio.frames import FRAME_MS, LINE_FRAME_BYTES
from bot.edge.config import BotConfig, TurnConfig
from bot.edge.engine_link import ENGINES, EngineUnavailable, RealtimeConnection, RealtimeTarget
from bot.edge.port import (
    MAX_EVENTS,
    CallEvent,
    CallMedia,
    CallPort,
    Confirmed,
    Disconnected,
    Dtmf,
    MediaReady,
    RtpStats,
    TransferStatus,
)
from bot.realtime.client_events import (
    ClientEvent,
    ConversationItemCreate,
    ConversationItemTruncate,
    FunctionCallOutputItem,
    ResponseCancel,
    ResponseCreate,
    parse_client_event,
)
from bot.realtime.say import line_to_say

T = TypeVar("T")
SPEECH = b"\x10\x04" * (LINE_FRAME_BYTES // 2)  # a loud frame (RMS ~1040)
SILENCE = bytes(LINE_FRAME_BYTES)
MS_PER_WORD = 200  # the stand-in engine "speaks" this long per word of a reply (a whole number of chunks)


def on_virtual_clock(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `main()` on a fresh event loop whose clock jumps over idle time (looptime)."""
    loop = looptime.new_event_loop(start=0.0)  # (created enabled)
    try:
        result = loop.run_until_complete(main())
        leaked = [t for t in asyncio.all_tasks(loop) if not t.done()]
        assert not leaked, f"tasks left running: {leaked}"
        return result
    finally:
        loop.close()


class LoudIsSpeech:
    """The test front end: a frame above a level is speech, and strong."""

    strong = False

    def process(self, mic: bytes, played: bytes | None) -> tuple[bytes, bool]:
        self.strong = any(mic)
        return mic, self.strong


@dataclass
class MemoryCall:
    """A `CallPort`: what the session did to the call, and a media clock (`run_media`) that plays
    the bot's frames and brings the caller's every 20 ms, on the loop clock."""

    call_id: str = "call-1"
    remote_uri: str = "sip:+15551234567@127.0.0.1"
    local_uri: str = "sip:voicebot@127.0.0.1"
    media: CallMedia = field(default_factory=CallMedia)
    events: asyncio.Queue[CallEvent] = field(default_factory=lambda: asyncio.Queue(MAX_EVENTS))
    answers: list[int] = field(default_factory=list)
    hung_up_at: float | None = None  # loop ms
    transfers: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    keys_sent: list[str] = field(default_factory=list)
    played: list[tuple[float, str]] = field(default_factory=list)  # (ms, item) of each bot frame played
    _speech: list[tuple[float, float]] = field(default_factory=list)  # caller speech spans, loop ms
    answered: asyncio.Event = field(default_factory=asyncio.Event)  # 200 OK sent
    referred: asyncio.Event = field(default_factory=asyncio.Event)  # a transfer asked for
    rtp_stops_at: float | None = None  # loop ms from which the caller's audio no longer arrives
    acks: bool = True  # the caller ACKs the answer
    bridged_to: list[str] = field(default_factory=list)  # calls whose audio this call's was joined to
    _gone: bool = False

    @property
    def alive(self) -> bool:
        return not self._gone

    def answer(self, code: int, reason: str = "", headers: dict[str, str] | None = None) -> bool:
        if self._gone:
            return False
        self.answers.append(code)
        if code == 200:
            self.answered.set()
            if self.acks:
                self.events.put_nowait(Confirmed())
        if code >= 300:
            self._gone = True
        return True

    def hangup(self, code: int = 200) -> bool:
        if self._gone:
            return False
        self._gone = True
        self.hung_up_at = now_ms()
        return True

    def transfer(self, target: str, headers: dict[str, str]) -> bool:
        self.transfers.append((target, headers))
        self.referred.set()
        return not self._gone

    def send_dtmf(self, digits: str) -> bool:
        self.keys_sent.append(digits)
        return not self._gone

    def rtp_received(self) -> int:
        return self.media.inbound.received  # here every frame the caller sends is a packet

    def rtp_stats(self) -> RtpStats:
        return RtpStats(self.media.inbound.received, 0, 0)

    def bridge(self, other: CallPort) -> bool:
        self.bridged_to.append(other.call_id)
        return not self._gone

    # --- the far end ---------------------------------------------------------------------------
    def speak(self, start_ms: float, duration_ms: float) -> None:
        self._speech.append((start_ms, start_ms + duration_ms))

    def press(self, digit: str) -> None:
        self.events.put_nowait(Dtmf(digit))

    def transfer_status(self, code: int) -> None:
        self.events.put_nowait(TransferStatus(code, final=True))

    def hang_up_from_caller(self) -> None:
        self._gone = True
        self.events.put_nowait(Disconnected(200, "BYE"))

    def played_ms(self, item_id: str) -> int:
        return sum(FRAME_MS for _, item in self.played if item == item_id)

    async def run_media(self) -> None:
        """The media clock: every 20 ms one frame out (the bot's) and one in (the caller's)."""
        self.events.put_nowait(MediaReady())
        tick = FRAME_MS / 1000
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while not self._gone:
            now = now_ms()
            item = self.media.playout.current_item
            frame = self.media.playout.pop()
            if frame is not None:
                self.played.append((now, self.media.playout.current_item or item or ""))
            talking = any(start <= now < end for start, end in self._speech)
            if self.rtp_stops_at is None or now < self.rtp_stops_at:
                self.media.inbound.push(SPEECH if talking else SILENCE, frame)
            next_tick += tick
            await asyncio.sleep(max(0.0, next_tick - loop.time()))


def now_ms() -> float:
    return asyncio.get_running_loop().time() * 1000


@dataclass
class Reply:
    """What the stand-in engine answers to the next response.create without a line to say."""

    text: str = ""
    tool: tuple[str, dict[str, Any]] | None = None  # a function call instead of words
    think_ms: int = 150  # from response.create to its first audio


class MemoryEngine:
    """A `Transport` to a stand-in Realtime engine (beta dialect, as the local engine speaks)."""

    def __init__(self, replies: list[Reply] | None = None) -> None:
        self.received: list[ClientEvent] = []
        self.replies = list(replies or [])
        self._out: asyncio.Queue[str | None] = asyncio.Queue()
        self._ids = itertools.count(1)
        self._active: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False
        self.sessions: list[int] = []  # where in `received` each connection's events start
        self.refused = 0  # connection attempts while down
        self._up_from_ms: float | None = 0.0  # None: never again

    def connect(self) -> Callable[[RealtimeTarget], Coroutine[Any, Any, RealtimeConnection]]:
        async def open_(target: RealtimeTarget) -> RealtimeConnection:
            if self._up_from_ms is None or now_ms() < self._up_from_ms:
                self.refused += 1
                await asyncio.sleep(0.05)  # a refused TCP connect
                raise EngineUnavailable("the stand-in engine is down")
            if self.sessions:  # a new session on a restarted engine: nothing of the old one
                self._out = asyncio.Queue()
                self._active = None
                self.closed = False
            self.sessions.append(len(self.received))
            return RealtimeConnection(self, ENGINES[target.kind])

        return open_

    # --- Transport -----------------------------------------------------------------------------
    async def send_str(self, text: str) -> None:
        event = parse_client_event(text, max_bytes=1 << 20)  # raises on anything the engine would refuse
        assert json.loads(text)["type"] == event.type
        self.received.append(event)
        if isinstance(event, ResponseCreate):
            line = line_to_say(event.response.instructions or "") if event.response else None
            reply = Reply(line) if line is not None else (self.replies.pop(0) if self.replies else Reply("Okay."))
            self._start(self._respond(reply))
        elif isinstance(event, ResponseCancel) and self._active:
            self._active = None

    async def receive(self) -> str | None:
        return await self._out.get()

    async def close(self) -> None:
        self.closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- what the engine says ------------------------------------------------------------------
    def emit(self, event: dict[str, Any]) -> None:
        self._out.put_nowait(json.dumps(event))

    def drop(self, back_after_ms: float | None = 0.0) -> None:
        """The engine goes away (a crash, the network); it takes connections again `back_after_ms`
        later (None: never)."""
        self._out.put_nowait(None)
        for task in self._tasks:
            task.cancel()  # what it was saying dies with it
        self._active = None
        self._up_from_ms = None if back_after_ms is None else now_ms() + back_after_ms

    def session(self, n: int) -> list[ClientEvent]:
        """What the session sent on its `n`th connection (0: the first)."""
        start = self.sessions[n]
        end = self.sessions[n + 1] if n + 1 < len(self.sessions) else len(self.received)
        return self.received[start:end]

    def caller_turn(self, text: str, start_ms: float, duration_ms: float, item_id: str) -> None:
        """The engine's VAD and recogniser on the caller's speech: started, stopped, committed, then
        the transcript (300 ms later, as whisper takes)."""

        async def turn() -> None:
            await sleep_until(start_ms + 100)
            self.emit({"type": "input_audio_buffer.speech_started", "item_id": item_id, "audio_start_ms": 0})
            await sleep_until(start_ms + duration_ms + 200)
            self.emit({"type": "input_audio_buffer.speech_stopped", "item_id": item_id, "audio_end_ms": 0})
            self.emit({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": None})
            await asyncio.sleep(0.3)
            self.emit({"type": "conversation.item.input_audio_transcription.completed", "item_id": item_id,
                       "content_index": 0, "transcript": text})  # fmt: skip

        self._start(turn())

    def _start(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _respond(self, reply: Reply) -> None:
        n = next(self._ids)
        response_id, item_id = f"resp_{n}", f"item_bot_{n}"
        self._active = response_id
        self.emit({"type": "response.created", "response": {"id": response_id, "status": "in_progress"}})
        await asyncio.sleep(reply.think_ms / 1000)  # the engine thinks
        if reply.tool is not None:
            name, args = reply.tool
            self.emit({"type": "response.function_call_arguments.done", "response_id": response_id,
                       "item_id": item_id, "call_id": f"call_{n}", "name": name, "arguments": json.dumps(args)})  # fmt: skip
        else:
            audio_ms = MS_PER_WORD * max(1, len(reply.text.split()))
            chunk_ms = 200
            for _ in range(0, audio_ms, chunk_ms):
                if self._active != response_id:
                    break
                ulaw = g711.pcm16_to_ulaw(SPEECH * (chunk_ms // FRAME_MS))
                self.emit({"type": "response.audio.delta", "response_id": response_id, "item_id": item_id,
                           "output_index": 0, "content_index": 0, "delta": base64.b64encode(ulaw).decode()})  # fmt: skip
                await asyncio.sleep(chunk_ms / 1000 / 4)  # faster than real time, as engines send
            self.emit({"type": "response.audio.done", "response_id": response_id, "item_id": item_id})
            self.emit({"type": "response.audio_transcript.done", "response_id": response_id, "item_id": item_id,
                       "transcript": reply.text})  # fmt: skip
        status = "completed" if self._active == response_id else "cancelled"
        self._active = None if self._active == response_id else self._active
        self.emit({"type": "response.done", "response": {"id": response_id, "status": status}})

    # --- what the session sent ------------------------------------------------------------------
    def of_type(self, kind: type[T]) -> list[T]:
        return [e for e in self.received if isinstance(e, kind)]

    def said(self) -> list[str]:
        """The lines the session asked to be said word for word."""
        lines = (line_to_say(e.response.instructions or "") for e in self.of_type(ResponseCreate) if e.response)
        return [line for line in lines if line is not None]

    def truncates(self) -> list[ConversationItemTruncate]:
        return self.of_type(ConversationItemTruncate)

    def tool_outputs(self) -> list[dict[str, Any]]:
        items = [e.item for e in self.of_type(ConversationItemCreate)]
        return [json.loads(i.output) for i in items if isinstance(i, FunctionCallOutputItem)]


async def sleep_until(ms: float) -> None:
    await asyncio.sleep(max(0.0, (ms - now_ms()) / 1000))


def bot_config(**overrides: Any) -> BotConfig:
    fields: dict[str, Any] = {"instructions": "You are the Acme Telecom assistant.", "transfer_target": "sip:agent@127.0.0.1",
                              "turns": TurnConfig(), **overrides}  # fmt: skip
    return BotConfig(**fields)
