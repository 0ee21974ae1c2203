"""One phone call bridged to a realtime engine: caller audio up, bot audio down, tools routed to flows.

Independent of pjsua2: it drives a `CallPort` (answer, hang up, transfer, and the media buffers).
Control before media: barge-in clears local playout first, then tells the engine what was heard.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import wave
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from bot.audio import g711
from bot.audio.echo import CallerDetector
from bot.realtime_client import EngineUnavailable, RealtimeConnection, RealtimeTarget, TurnConfig, session_update
from bot.redact import redact
from bot.state import CallStore
from bot.turn_policies.barge_in import BargeAction, BargeInPolicy, BargeState, Onset
from bot.turn_policies.dtmf import DtmfCollector
from bot.turn_policies.idle import IdleAction, IdlePolicy
from flows.registry import CallContext, ToolRegistry, ToolResult
from sip.call import CallEvent, CallMedia, Disconnected, Dtmf, MediaReady, TransferStatus
from sip.playout import until_tick

log = logging.getLogger(__name__)
UPLINK_TICK_S = 0.04  # two frames per append: half the wakeups and messages, <= 20 ms later VAD
IDLE_CHECK_S = 0.25
FILLER_AFTER_S = 1.0  # a tool slower than this gets a spoken filler
RECORD_MAX_BYTES = 8000 * 2 * 600  # record_dir: the first 10 minutes of a call
PLAYOUT_TAIL_S = 0.4  # the last frames still sit in the far end's jitter buffer when ours is empty
ECHO_TAIL_MS = 800  # the bot's echo may come back this long after its last frame (line + jitter buffers)


def header_value(text: str, limit: int = 200) -> str:
    """Free text made safe for one SIP header line: masked, no line breaks, bounded."""
    return redact(" ".join(text.split()))[:limit]


class CallPort(Protocol):
    call_id: str
    remote_uri: str
    local_uri: str
    media: CallMedia
    events: asyncio.Queue[CallEvent]

    @property
    def alive(self) -> bool: ...
    def answer(self, code: int, reason: str = "") -> bool: ...
    def hangup(self, code: int = 200) -> bool: ...
    def transfer(self, target: str, headers: dict[str, str]) -> bool: ...
    def send_dtmf(self, digits: str) -> bool: ...


@dataclass(frozen=True)
class BotConfig:
    instructions: str
    voice: str = "alloy"
    transfer_target: str | None = None  # SIP URI of the human queue
    media_timeout_s: float = 5.0
    goodbye_grace_s: float = 10.0  # longest wait for a goodbye to finish playing before hanging up
    max_concurrent_calls: int = 0  # across all workers (Redis); 0: no limit beyond the workers' own
    idle_timeout_ms: int = 10_000  # caller silent this long after the bot spoke: reprompt (0: never)
    idle_max_reprompts: int = 2  # then say goodbye and hang up
    reprompt: str = "Are you still there?"
    idle_goodbye: str = "I haven't heard from you, so I'll end the call now. Goodbye!"
    filler: str = "One moment, please."
    record_dir: str | None = None  # write each call's line audio here: what came in, what went up, what was played
    turns: TurnConfig = field(default_factory=TurnConfig)


class CallSession:
    def __init__(
        self,
        call: CallPort,
        target: RealtimeTarget,
        bot: BotConfig,
        tools: ToolRegistry,
        store: CallStore | None,
        worker: str,
        connect: Callable[[RealtimeTarget], Awaitable[RealtimeConnection]] = RealtimeConnection.open,
    ) -> None:
        self.call = call
        self.target = target
        self.bot = bot
        self.tools = tools
        self.store = store
        self.worker = worker
        self._connect = connect
        self.context = CallContext(call.call_id, call.remote_uri, call.local_uri)
        self.started = time.time()
        self.outcome = "caller_hung_up"
        self._conn: RealtimeConnection | None = None
        self._active_response: str | None = None
        self._tool_outputs_pending = False
        self._tools_running = 0
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._after_playout: tuple[str, dict[str, Any]] | None = None  # hangup / transfer, once the bot is heard
        self._done = asyncio.Event()
        self._caller_speaking = False
        self._media_up = False
        self._caller_said: list[str] = []  # the last few things the caller said, for a transfer summary
        self.idle = IdlePolicy(bot.idle_timeout_ms, bot.idle_max_reprompts)
        self.keypad = DtmfCollector()
        turns = bot.turns
        self.barge = BargeInPolicy()
        self.detector = (
            CallerDetector(echo_cancel=turns.echo_cancellation) if turns.edge_interruption and turns.local_vad else None
        )
        if self.detector is not None:  # runs on pjmedia's clock thread, frame by frame (see InboundBuffer)
            inbound = call.media.inbound
            inbound.onset = Onset(self.barge.start_ms, self.barge.window_ms, self.barge.fast_ms)
            inbound.hold = call.media.playout
            inbound.front_end = self.detector
        self._create_sent = False  # a response.create is on its way (no response.created yet)
        self._verdict_item: str | None = None  # the turn whose transcript decides a paused barge-in
        self._echo_items: set[str] = set()  # turns dropped as the bot's own echo
        self._bot_last_active = 0.0  # ms (monotonic) the bot was last talking or about to
        self._turn_overlapped = False  # the caller's current turn (engine VAD) overlapped the bot or its echo
        self._recording: tuple[bytearray, bytearray, bytearray] | None = (
            (bytearray(), bytearray(), bytearray()) if bot.record_dir else None
        )

    async def run(self) -> str:
        """Answer, bridge until either side ends, record the outcome. Returns it."""
        call, store = self.call, self.store
        if (
            store
            and self.bot.max_concurrent_calls
            and not await store.admit(call.call_id, self.bot.max_concurrent_calls)
        ):
            log.warning("call %s refused: %d calls already up", call.call_id, self.bot.max_concurrent_calls)
            call.answer(503, "All Lines Busy")
            self.outcome = "refused_busy"
            return self.outcome
        if store:
            store.call_started(call.call_id, call.remote_uri, call.local_uri, self.worker)
        call.answer(180)
        try:
            self._conn = await self._connect(self.target)
        except EngineUnavailable as exc:
            log.error("call %s: %s", call.call_id, exc)
            call.answer(503, "Engine Unavailable")
            self.outcome = "engine_unavailable"
            self._record_end()
            return self.outcome
        tasks: list[asyncio.Task[None]] = []
        try:
            conn = self._conn
            await conn.send(session_update(conn.capabilities, instructions=self.bot.instructions,
                                           voice=self.bot.voice, tools=self.tools.schemas(), turns=self.bot.turns))  # fmt: skip
            if not call.answer(200):
                self.outcome = "answer_failed"
                return self.outcome
            if store:
                store.call_answered(call.call_id)
            tasks = [
                asyncio.create_task(self._downlink(conn), name=f"down-{call.call_id}"),
                asyncio.create_task(self._control(), name=f"control-{call.call_id}"),
                asyncio.create_task(self._wait_done(), name=f"done-{call.call_id}"),
            ]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [*tasks, *self._side_tasks]:
                task.cancel()
            await asyncio.gather(*tasks, *self._side_tasks, return_exceptions=True)
            await self._conn.close()
            if call.alive:
                call.hangup()
            # Detach the front end; the clock thread may be inside it, so it is not closed here: the
            # last reference going frees it (libspeexdsp state included).
            call.media.inbound.front_end = None
            self.detector = None
            self._write_recording()
            self._record_end()
        return self.outcome

    def _record_end(self) -> None:
        media = self.call.media
        log.info("call %s ended: %s after %.1f s; caller frames %d, playout underruns %d, dropped %d",
                 self.call.call_id, self.outcome, time.time() - self.started, media.inbound.received,
                 media.playout.underruns, media.playout.dropped)  # fmt: skip
        if self.store:
            self.store.call_ended(self.call.call_id, self.outcome, self.started)

    def _finish(self, outcome: str) -> None:
        self.outcome = outcome
        self._done.set()

    async def _wait_done(self) -> None:
        await self._done.wait()

    # --- call control events (hang-up, media, DTMF, transfer) --------------------------------------
    async def _control(self) -> None:
        while True:
            event = await self.call.events.get()
            if isinstance(event, MediaReady) and not self._media_up:
                self._media_up = True
                assert self._conn is not None
                # Owned by the session: cancelled and awaited when the call ends, whoever ends it.
                self._spawn(self._uplink(self._conn))
                self._spawn(self._timers())
                await self._create_response()  # the greeting
            elif isinstance(event, Disconnected):
                self._finish(self.outcome)  # caller_hung_up, unless the bot ended it first
                return
            elif isinstance(event, Dtmf):
                await self._on_dtmf(event)
            elif isinstance(event, TransferStatus) and event.final:
                await self._on_transfer_status(event)

    async def _timers(self) -> None:
        """What happens with time alone: a keypad entry ends on a pause; a silent caller is
        reprompted, then hung up on politely (the policies decide; this only observes)."""
        while True:
            await asyncio.sleep(IDLE_CHECK_S)
            now = time.monotonic() * 1000
            entry = self.keypad.due(now)
            if entry:
                await self._send_keypad(entry)
            if not self.bot.idle_timeout_ms:
                continue
            if self._caller_speaking:
                self.idle.caller_active(now)
            elif self._bot_active:
                self.idle.bot_speaking()
            else:
                self.idle.quiet(now)
            action = self.idle.due(now)
            if action is IdleAction.REPROMPT:
                await self._say(self.bot.reprompt)
            elif action is IdleAction.HANG_UP:
                self._after_playout = ("hangup", {"outcome": "idle_hangup"})
                await self._say(self.bot.idle_goodbye)

    async def _on_dtmf(self, event: Dtmf) -> None:
        now = time.monotonic() * 1000
        self.idle.caller_active(now)
        if self.store:
            self.store.transcript(self.call.call_id, "dtmf", event.digit)
        entry = self.keypad.key(event.digit, now)
        if entry:
            await self._send_keypad(entry)

    async def _send_keypad(self, entry: str) -> None:
        """A finished keypad entry is the caller's turn: it interrupts the bot like speech does."""
        await self._barge_in()
        if self.store:
            self.store.transcript(self.call.call_id, "caller", f"(keypad) {entry}")
        assert self._conn is not None
        await self._conn.send({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": entry}]}})  # fmt: skip
        await self._create_response()

    async def _on_transfer_status(self, event: TransferStatus) -> None:
        if 200 <= event.code < 300:
            self.call.hangup()
            self._finish("transferred")
            return
        log.warning("call %s: transfer failed with %d", self.call.call_id, event.code)
        assert self._conn is not None
        await self._say("I'm sorry, I couldn't reach an agent just now. Can I help you with something else?")

    async def _say(self, text: str) -> None:
        await self._create_response({"instructions": f'Say "{text}"'})

    async def _create_response(self, params: dict[str, Any] | None = None) -> None:
        assert self._conn is not None
        self._create_sent = True
        event: dict[str, Any] = {"type": "response.create"}
        if params:
            event["response"] = params
        await self._conn.send(event)

    @property
    def _bot_active(self) -> bool:
        """The bot is talking, about to (a reply is being made), or holding its reply for the caller."""
        return self._create_sent or self._active_response is not None or self.call.media.playout.busy

    # --- caller → engine ------------------------------------------------------------------------
    async def _uplink(self, conn: RealtimeConnection) -> None:
        """Every tick: the caller's frames (echo already removed on the clock thread) go to the
        barge-in policy, then up to the engine."""
        inbound = self.call.media.inbound
        playout = self.call.media.playout
        loop = asyncio.get_running_loop()
        while True:
            frames = inbound.drain_frames()
            early = inbound.early_pauses
            now = time.monotonic() * 1000
            for f in frames:
                if self._recording is not None and len(self._recording[0]) < RECORD_MAX_BYTES:
                    for track, data in zip(
                        self._recording, (f.line, f.clean, f.played or bytes(len(f.line))), strict=True
                    ):
                        track += data
                if f.voiced is not None:
                    await self._act(self.barge.frame(f.voiced, self._bot_active, now, f.strong))
            if playout.paused and self.barge.state is not BargeState.PAUSED and inbound.early_pauses == early:
                playout.paused = False  # the clock thread paused for frames the policy did not take as barge-in
            if self.bot.turns.edge_interruption:
                if self._bot_active:
                    self._bot_last_active = now
                    self._turn_overlapped |= self._caller_speaking
                await self._act(self.barge.tick(now, self._bot_active))
            if frames:
                audio = g711.pcm16_to_ulaw(b"".join(f.clean for f in frames))
                await conn.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(audio).decode()})
            await asyncio.sleep(until_tick(loop.time(), UPLINK_TICK_S))

    async def _act(self, action: BargeAction | None) -> None:
        """Carry out what the barge-in policy decided."""
        if action is None:
            return
        playout = self.call.media.playout
        if action is BargeAction.PAUSE:
            playout.paused = True  # silent from the next frame on; the reply waits where it stopped
            self._note(f"barge-in pause after {playout.played_ms.get(playout.current_item or '', 0)} ms")
        elif action is BargeAction.RESUME:
            playout.paused = False
            self._note("barge-in resumed: backchannel or noise, not an interruption")
        else:
            self._verdict_item = None
            await self._barge_in()

    def _write_recording(self) -> None:
        if self._recording is None or not self.bot.record_dir:
            return
        folder = Path(self.bot.record_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for name, pcm in zip(("line", "clean", "bot"), self._recording, strict=True):
            with wave.open(str(folder / f"{self.call.call_id}.{name}.wav"), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(8000)
                w.writeframes(bytes(pcm))

    def _note(self, text: str) -> None:
        log.info("call %s: %s", self.call.call_id, text)
        if self.store:
            self.store.transcript(self.call.call_id, "system", text)

    # --- engine → caller ------------------------------------------------------------------------
    async def _downlink(self, conn: RealtimeConnection) -> None:
        handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "response.created": self._on_response_created,
            "response.audio.delta": self._on_audio_delta,
            "response.audio.done": self._on_audio_done,
            "response.audio_transcript.done": self._on_bot_transcript,
            "input_audio_buffer.speech_started": self._on_speech_started,
            "input_audio_buffer.speech_stopped": self._on_speech_stopped,
            "input_audio_buffer.committed": self._on_committed,
            "conversation.item.input_audio_transcription.completed": self._on_caller_transcript,
            "response.function_call_arguments.done": self._on_function_call,
            "response.done": self._on_response_done,
            "error": self._on_error,
        }
        async for event in conn.events():
            handler = handlers.get(event["type"])
            if handler is not None:
                await handler(event)
        self._finish("engine_closed")

    async def _on_response_created(self, event: dict[str, Any]) -> None:
        self._create_sent = False
        self._active_response = event["response"]["id"]

    async def _on_audio_delta(self, event: dict[str, Any]) -> None:
        if event.get("response_id") != self._active_response:
            return  # audio of a reply already cancelled: never play it
        self.call.media.playout.push(event["item_id"], g711.ulaw_to_pcm16(base64.b64decode(event["delta"])))

    async def _on_audio_done(self, event: dict[str, Any]) -> None:
        self.call.media.playout.finish(event["item_id"])

    async def _on_speech_stopped(self, event: dict[str, Any]) -> None:
        self._caller_speaking = False
        if self.bot.turns.edge_interruption and self.detector is None:
            await self._act(self.barge.engine_speech(False, self._bot_active, time.monotonic() * 1000))

    async def _on_speech_started(self, event: dict[str, Any]) -> None:
        self._caller_speaking = True
        now = time.monotonic() * 1000
        self.idle.caller_active(now)
        self._turn_overlapped = self._bot_active or now - self._bot_last_active < ECHO_TAIL_MS
        if not self.bot.turns.edge_interruption:
            await self._barge_in()  # the engine has cancelled its reply already: stop ours too
        elif self.detector is None:
            await self._act(self.barge.engine_speech(True, self._bot_active, now))
        # else: our own echo-cancelled detector decides; the engine's VAD may be hearing the bot's echo

    async def _on_committed(self, event: dict[str, Any]) -> None:
        """A caller turn is complete. With edge interruption the session asks for the reply itself."""
        if not self.bot.turns.edge_interruption:
            return
        item_id = event["item_id"]
        heard = self.barge.heard or self.detector is None
        overlapped, self._turn_overlapped = self._turn_overlapped or self._bot_active, False
        if self.barge.turn_committed(item_id, time.monotonic() * 1000):
            self._verdict_item = item_id  # the bot holds its reply until the transcript says what this was
            return
        if overlapped and not heard:
            # The engine's VAD made a turn of something our detector never took for the caller while
            # the bot talked: its own voice coming back. Forget it.
            self._echo_items.add(item_id)
            await self._delete_item(item_id)
            return
        if self._bot_active:
            await self._barge_in()  # the caller went on talking after a reply had started: redo it
        await self._create_response()

    async def _delete_item(self, item_id: str) -> None:
        assert self._conn is not None
        await self._conn.send({"type": "conversation.item.delete", "item_id": item_id})

    async def _barge_in(self) -> None:
        """Silence the bot now, then tell the engine how much of its reply was heard."""
        self.barge.interrupted_elsewhere()
        playout = self.call.media.playout
        item_id, played_ms = playout.clear() if playout.busy else (None, 0)
        interrupted = self._active_response
        if item_id is None and interrupted is None:
            return
        assert self._conn is not None
        if interrupted is not None:
            self._active_response = None
            await self._conn.send({"type": "response.cancel"})
        if item_id:
            if self.store:
                self.store.transcript(self.call.call_id, "system", f"barge-in after {played_ms} ms of {item_id}")
            await self._conn.send({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
                                   "audio_end_ms": played_ms})  # fmt: skip
        self._after_playout = None  # what the bot was about to do next is void: the caller has the floor

    async def _on_caller_transcript(self, event: dict[str, Any]) -> None:
        said = str(event.get("transcript", ""))
        item_id = event.get("item_id")
        if item_id in self._echo_items:
            self._echo_items.discard(item_id)
            self._note(f"ignored as echo (only the engine heard it, while the bot spoke): {redact(said)!r}")
            return
        if self.store:
            self.store.transcript(self.call.call_id, "caller", said)
        if item_id is not None and item_id == self._verdict_item:
            self._verdict_item = None
            playout = self.call.media.playout
            complete = self._active_response is None and not self._create_sent and playout.complete
            turn, action = self.barge.verdict(item_id, said, playout.queued_ms if complete else None)
            if not turn:
                await self._delete_item(item_id)  # "uh-huh" is not a turn: the bot goes on
                await self._act(action)
                return
            await self._act(action)  # words: the bot stops (if it still talks) and answers them
            await self._create_response()
        self._caller_said = [*self._caller_said[-9:], said]

    async def _on_bot_transcript(self, event: dict[str, Any]) -> None:
        if self.store:
            self.store.transcript(self.call.call_id, "bot", event.get("transcript", ""))

    async def _on_function_call(self, event: dict[str, Any]) -> None:
        """Run the tool beside the event stream, so barge-in and hang-up are never stuck behind it."""
        name = event.get("name", "")
        if self.store:
            self.store.transcript(self.call.call_id, "tool", f"{name} {event.get('arguments', '')}")
        self._tools_running += 1
        self._spawn(self._run_tool(name, event["call_id"], event.get("arguments", "{}")))

    async def _run_tool(self, name: str, call_id: str, arguments: str) -> None:
        assert self._conn is not None
        work = asyncio.create_task(self.tools.call(name, arguments, self.context))
        try:
            done, _ = await asyncio.wait([work], timeout=FILLER_AFTER_S)
            if not done and self._active_response is None:
                await self._say(self.bot.filler)  # a slow system: no dead air
            result: ToolResult = await work
        finally:
            work.cancel()
            self._tools_running -= 1
        if result.action is not None:
            self._after_playout = (result.action, result.action_args)
        await self._conn.send({"type": "conversation.item.create", "item": {
            "type": "function_call_output", "call_id": call_id, "output": json.dumps(result.output)}})  # fmt: skip
        self._tool_outputs_pending = True
        await self._respond_to_tools()

    async def _respond_to_tools(self) -> None:
        """Ask for the reply to the tool outputs once every tool is done and nothing else is speaking."""
        if self._tool_outputs_pending and not self._tools_running and self._active_response is None:
            self._tool_outputs_pending = False
            await self._create_response()

    async def _on_response_done(self, event: dict[str, Any]) -> None:
        if event["response"]["id"] == self._active_response:
            self._active_response = None
        if self._tool_outputs_pending or self._tools_running:
            await self._respond_to_tools()
            return
        if self._after_playout is not None:
            action, args = self._after_playout
            self._after_playout = None
            self._spawn(self._act_when_played(action, args))

    async def _act_when_played(self, action: str, args: dict[str, Any]) -> None:
        """Hang up, transfer or press keys once the bot's last words have reached the caller."""
        await self._when_played()
        if action == "hangup":
            self.call.hangup()
            self._finish(str(args.get("outcome", "completed")))
        elif action == "transfer":
            self._transfer(args)
        elif action == "send_dtmf":
            digits = str(args.get("digits", ""))
            self._note(f"sent keys {digits}")
            self.call.send_dtmf(digits)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """A task the session owns: cancelled and awaited when the call ends."""
        task = asyncio.create_task(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_done)

    def _side_done(self, task: asyncio.Task[None]) -> None:
        self._side_tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        if isinstance(exc, ConnectionError | aiohttp.ClientError):
            log.info("call %s: engine connection gone (%s)", self.call.call_id, exc)
            self._finish("engine_closed")
        else:
            log.error("call %s: %s failed", self.call.call_id, task.get_coro(), exc_info=exc)

    async def _when_played(self) -> None:
        deadline = time.monotonic() + self.bot.goodbye_grace_s
        # The playout drains on pjmedia's clock thread, which must not touch asyncio objects: poll it.
        while self.call.media.playout.busy and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        await asyncio.sleep(PLAYOUT_TAIL_S)

    def _transfer(self, args: dict[str, Any]) -> None:
        target = self.bot.transfer_target
        if not target:
            log.warning("call %s: transfer asked but no transfer target configured", self.call.call_id)
            return
        # The agent's desktop gets the context, so the caller need not repeat themselves.
        headers = {
            "X-Voicebot-Call-Id": self.call.call_id,
            "X-Voicebot-Reason": header_value(str(args.get("reason", ""))),
            "X-Voicebot-Customer": str(args.get("customer_id") or "unverified"),
            "X-Voicebot-Summary": header_value(" / ".join(self._caller_said[-3:])),
        }
        if self.store:
            self.store.transcript(self.call.call_id, "system", f"transfer to {target}")
        self.call.transfer(target, headers)

    async def _on_error(self, event: dict[str, Any]) -> None:
        error = event.get("error", {})
        if error.get("code") == "conversation_already_has_active_response":
            self._create_sent = False  # ours was refused; the one running goes on
        if error.get("code") != "response_cancel_not_active":  # a race with the engine's own interrupt
            log.warning("call %s: engine error %s: %s", self.call.call_id, error.get("code"), error.get("message"))
