"""One Realtime session on one WebSocket: client events in (a handler per type), server events out.

Tasks the session owns: the current response, speculative and final transcriptions. All are
cancelled and awaited when the socket closes. Bad client events get an `error` event; the session goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from bot.engine.brain.base import ToolSpec
from bot.engine.client_item import client_item
from bot.engine.conversation import Content, Conversation, ConversationError, Item
from bot.engine.echo_reference import EchoReference, echo_reference_for
from bot.engine.fillers import without_fillers
from bot.engine.idle_timeout import IdleTimeout
from bot.engine.input_audio import InputAudioBuffer
from bot.engine.mcp_tools import McpCatalog
from bot.engine.response import ResponseRun, opening
from bot.engine.runtime import EngineRuntime
from bot.engine.transcription import Transcriptions
from bot.engine.turns import FrameVad, Speculate, SpeechStarted, SpeechStopped, TurnDetector, TurnEvent, detector_for
from bot.log_format import TURN
from bot.realtime import ids
from bot.realtime.client_events import (
    ClientEvent,
    ConversationItemCreate,
    ConversationItemDelete,
    ConversationItemRetrieve,
    ConversationItemTruncate,
    InputAudioBufferAppend,
    InputAudioBufferClear,
    InputAudioBufferCommit,
    ProtocolError,
    ResponseCancel,
    ResponseCreate,
    ResponseParams,
    SessionUpdate,
    parse_client_event,
)
from bot.realtime.dialect import Dialect, event_name
from bot.realtime.error_event import error_body, transcription_error
from bot.realtime.interim_response import STOCK_WARNING, InterimResponse
from bot.realtime.session_config import NOISE_REDUCTION, SessionConfig
from bot.turn_policies.end_of_turn import required_silence_ms

log = logging.getLogger(__name__)
MIN_COMMIT_MS = 100  # the real API refuses to commit less audio than this
IDLE_PROMPT = 'The caller has gone quiet. Check that they are still there: "Are you still there?"'


class EngineSession:
    def __init__(self, ws: web.WebSocketResponse, runtime: EngineRuntime, dialect: Dialect, model: str) -> None:
        self.ws = ws
        self.runtime = runtime
        self.dialect = dialect
        self.id = ids.session_id()
        self.config = SessionConfig(model=model)
        self.conversation = Conversation()
        self.brain = runtime.new_brain()
        self.buffer = InputAudioBuffer(self.config.input_format, runtime.settings.engine_input_buffer_ms)
        self._vad, self._turns = self._make_vad()
        self._speech_item: str | None = None  # item id announced by speech_started
        self._speech_start_ms = 0
        self._transcripts = Transcriptions(runtime, self._on_transcribed, self._on_speculated, self._on_heard)
        self._response: tuple[ResponseRun, asyncio.Task[None]] | None = None
        self._idle = IdleTimeout()  # turn_detection.idle_timeout_ms
        self._mcp = McpCatalog(self.emit)  # the session's server-side MCP tools
        self._send_lock = asyncio.Lock()
        self._echo_ref: EchoReference | None = None  # input_audio_echo_cancellation
        self._preparing: asyncio.Task[None] | None = None  # the brain getting ready for new instructions
        self._handlers: dict[type, Callable[[Any], Awaitable[None]]] = {
            SessionUpdate: self._session_update,
            InputAudioBufferAppend: self._append,
            InputAudioBufferCommit: self._commit,
            InputAudioBufferClear: self._clear,
            ConversationItemCreate: self._item_create,
            ConversationItemTruncate: self._item_truncate,
            ConversationItemDelete: self._item_delete,
            ConversationItemRetrieve: self._item_retrieve,
            ResponseCreate: self._response_create,
            ResponseCancel: self._response_cancel,
        }

    # --- lifecycle ------------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self.emit("session.created", session=self.config.to_wire(self.dialect, self.id))
            async for msg in self.ws:
                if msg.type == WSMsgType.TEXT:
                    await self._dispatch(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await self._error(
                        ProtocolError("invalid_json", "binary messages are not supported; send JSON text")
                    )
                elif msg.type == WSMsgType.ERROR:
                    log.info("session %s: socket error %s", self.id, self.ws.exception())
        except ConnectionResetError:  # the client went away while we were writing to it
            log.info("session %s: client gone", self.id)
        finally:
            await self._stop_response("client_cancelled", announce=False)
            await self._transcripts.aclose()
            await self._mcp.aclose()
            if self._preparing is not None:
                self._preparing.cancel()
                await asyncio.gather(self._preparing, return_exceptions=True)
            if self._echo_ref is not None:
                self._echo_ref.close()

    async def _dispatch(self, raw: str) -> None:
        event: ClientEvent | None = None
        try:
            event = parse_client_event(raw, max_bytes=self.runtime.settings.engine_max_event_bytes)
            await self._handlers[type(event)](event)
        except ProtocolError as exc:
            if exc.event_id is None and event is not None:
                exc.event_id = event.event_id
            await self._error(exc)
        except ConnectionResetError:
            raise
        except Exception as exc:
            log.exception("session %s: handler failed", self.id)
            message = f"internal error handling {type(event).__name__ if event else 'the event'} ({type(exc).__name__})"
            await self._error(ProtocolError("server_error", message, event_id=event.event_id if event else None),
                              kind="server_error")  # fmt: skip

    # --- sending --------------------------------------------------------------------------------------
    async def emit(self, canonical: str, **fields: Any) -> None:
        event = {"type": event_name(canonical, self.dialect), "event_id": ids.event_id(), **fields}
        async with self._send_lock:
            if not self.ws.closed:
                await self.ws.send_json(event)

    async def _error(self, exc: ProtocolError, kind: str = "invalid_request_error") -> None:
        await self.emit("error", error=error_body(exc, kind))

    async def emit_item_added(self, item: Item, previous_item_id: str | None) -> None:
        await self.emit("conversation.item.created", previous_item_id=previous_item_id, item=item.to_wire(self.dialect))

    async def emit_item_done(self, item: Item) -> None:
        if self.dialect is Dialect.GA:  # beta has no item-done event
            await self.emit("conversation.item.done", item=item.to_wire(self.dialect))

    # --- session --------------------------------------------------------------------------------------
    async def _session_update(self, event: SessionUpdate) -> None:
        dialect = Dialect.from_session_update(event.session, self.dialect)
        config = self.config.updated(event.session, dialect)
        self.runtime.check_session(config, self.config, dialect)  # (what this engine cannot do: refused by name)
        self.dialect = dialect
        old, self.config = self.config, config
        self.buffer.set_format(config.input_format)
        nr = config.noise_reduction
        self.buffer.set_noise_reduction(NOISE_REDUCTION[nr["type"]] if nr else None)
        self._echo_ref = echo_reference_for(self._echo_ref, config.echo_cancellation is not None, config.output_format)
        self.buffer.echo = self._echo_ref.canceller if self._echo_ref is not None else None
        if (old.turn_detection, old.input_format) != (config.turn_detection, config.input_format):
            self._vad, self._turns = self._make_vad()
        if config.speech_output.shaped and not old.speech_output.shaped:
            self.runtime.prepare_aligned()  # (the first reply needs the voice that knows where its words are)
        if old.mcp_servers != config.mcp_servers:
            self._mcp.load(config.mcp_servers)  # (listed in the background; a reply waits for it)
        if (old.instructions, old.tools) != (config.instructions, config.tools):
            tools = tuple(ToolSpec.from_wire(t) for t in config.tools)
            if self._preparing is not None:
                self._preparing.cancel()  # for instructions no longer in force
            self._preparing = asyncio.create_task(self._prepare_brain(config.instructions, tools), name="prepare")
        await self.emit("session.updated", session=config.to_wire(self.dialect, self.id))
        if (interim := config.interim_response) and interim.stock and interim != old.interim_response:
            await self.emit("warning", warning=STOCK_WARNING)

    async def _prepare_brain(self, instructions: str, tools: tuple[ToolSpec, ...]) -> None:
        """The brain gets ready, then the openings of its likely replies are synthesized into the
        shared TTS cache (bot/engine/warmup.py), so a first reply rarely waits for TTS."""
        try:
            likely = await self.brain.prepare(instructions, tools)
            remembered = self.runtime.warm_sessions  # (for a standby engine to be as ready)
            await asyncio.to_thread(remembered.remember, instructions, list(self.config.tools), self.config.voice)
            if "audio" in self.config.modalities:
                await self.runtime.warmup.fill(self.config.voice, [opening(line) for line in likely])
        except Exception:  # the first reply builds it again and reports what fails
            log.exception("session %s: preparing the brain failed", self.id)

    def _echo_sent(self, item_id: str, wire: bytes) -> None:
        if self._echo_ref is not None:
            self._echo_ref.sent(item_id, wire)

    def _make_vad(self) -> tuple[FrameVad | None, TurnDetector | None]:
        td = self.config.turn_detection
        return (None, None) if td is None else detector_for(td)

    async def _on_speculated(self, end_ms: int, transcript: str) -> None:
        """A speculative transcript of the turn so far: semantic VAD decides the silence it needs,
        and the turn may end right now if that much has passed already."""
        td = self.config.turn_detection
        if td is None or not td.semantic or self._turns is None or not self._turns.speaking:
            return
        self._turns.silence_ms = required_silence_ms(transcript, td.eagerness)
        self._turns.hold = False
        for turn_event in self._turns.poll(self.buffer.end_ms):
            await self._on_turn(turn_event)

    # --- input audio ----------------------------------------------------------------------------------
    async def _append(self, event: InputAudioBufferAppend) -> None:
        frames = self.buffer.append(event.audio)
        td = self.config.turn_detection
        if self._vad is None or self._turns is None or td is None:
            return
        for start_ms, frame in frames:
            for turn_event in self._turns.feed(self._vad.is_speech(frame), start_ms):
                await self._on_turn(turn_event)
        self._transcripts.hear(frames)  # (a recogniser that listens hears the turn as it comes)
        if (silent := self._idle.due(self.buffer.end_ms, td.idle_timeout_ms)) is not None:
            await self._timed_out(*silent)
        if not self._turns.speaking:  # keep only what a future speech start may reach back to
            self.buffer.drop_before(self.buffer.end_ms - td.prefix_padding_ms - 200)

    async def _on_turn(self, event: TurnEvent) -> None:
        td = self.config.turn_detection
        assert td is not None
        if isinstance(event, SpeechStarted):
            self._idle.speech()
            if td.semantic and self._turns is not None:
                self._turns.silence_ms = required_silence_ms(None, td.eagerness)
            self._speech_item = ids.item_id()
            self._speech_start_ms = max(self.buffer.start_ms, event.audio_start_ms - td.prefix_padding_ms)
            self._transcripts.drop_speculation()
            self._transcripts.listen(self._speech_item, self.buffer.slice(self._speech_start_ms, self.buffer.end_ms),
                                     self._speech_start_ms, self.buffer.end_ms, self.config.asr_hints, td)  # fmt: skip
            await self.emit("input_audio_buffer.speech_started", audio_start_ms=event.audio_start_ms,
                            item_id=self._speech_item)  # fmt: skip
            if td.interrupt_response:
                await self._stop_response("turn_detected")
        elif isinstance(event, Speculate):
            if td.semantic and self._turns is not None:
                self._turns.hold = True  # the end waits for what the transcript says
            end = event.audio_end_ms + self._tail_ms()
            pcm = self.buffer.slice(self._speech_start_ms, end)
            self._transcripts.speculate(end, pcm, self.config.asr_hints)
        elif isinstance(event, SpeechStopped):
            item_id = self._speech_item or ids.item_id()
            self._speech_item = None
            await self.emit("input_audio_buffer.speech_stopped", audio_end_ms=event.audio_end_ms, item_id=item_id)
            self.buffer.drop_before(self._speech_start_ms)
            end = event.audio_end_ms + self._tail_ms()
            await self._commit_audio(item_id, self.buffer.take(end), end)
            if td.create_response:
                await self._start_response(ResponseParams())

    async def _timed_out(self, start_ms: int, end_ms: int) -> None:
        """The caller has been silent for idle_timeout_ms since the last reply: that silence is their
        turn, and the reply checks they are still there."""
        item_id = ids.item_id()
        await self.emit(
            "input_audio_buffer.timeout_triggered", audio_start_ms=start_ms, audio_end_ms=end_ms, item_id=item_id
        )
        await self._commit_audio(item_id, self.buffer.take(), end_ms)
        await self._start_response(ResponseParams(instructions=IDLE_PROMPT))

    def _tail_ms(self) -> int:
        """Silence kept after the last voiced frame: a soft word end ("hours") is often unvoiced."""
        return self._turns.speculate_ms if self._turns is not None else 0

    async def _commit(self, event: InputAudioBufferCommit) -> None:
        if self.buffer.duration_ms < MIN_COMMIT_MS:
            raise ProtocolError("input_audio_buffer_commit_empty",
                                f"buffer too small: expected at least {MIN_COMMIT_MS}ms of audio, "
                                f"but buffer only has {self.buffer.duration_ms}ms",
                                event_id=event.event_id)  # fmt: skip
        item_id = self._speech_item or ids.item_id()
        self._speech_item = None
        if self._turns is not None:
            self._turns.reset()
        end = self.buffer.end_ms
        await self._commit_audio(item_id, self.buffer.take(), end)

    async def _commit_audio(self, item_id: str, pcm: bytes, end_ms: int) -> None:
        item = Item(item_id, "message", role="user", content=[Content("input_audio", transcript=None)])
        previous = self.conversation.add(item)
        if (cell := TURN.get()) is not None:
            cell.turn_id = item_id  # (this session's log lines from here on carry this turn)
        await self.emit("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        await self.emit_item_added(item, previous)
        self._transcripts.start(item, pcm, end_ms, self.config.asr_hints)

    async def _on_transcribed(self, item: Item, transcript: str, seconds: float, failure: str | None) -> None:
        if (td := self.config.turn_detection) is not None and td.remove_filler_words:
            transcript = without_fillers(transcript)
        item.content[0].transcript = transcript
        if failure is not None:  # (the recogniser failed: the API's own event says so; the turn goes on unheard)
            await self.emit("conversation.item.input_audio_transcription.failed", item_id=item.id, content_index=0,
                            error=transcription_error(failure))  # fmt: skip
        elif self.config.transcription is not None:
            usage = {"type": "duration", "seconds": round(seconds, 3)}
            await self.emit("conversation.item.input_audio_transcription.completed", item_id=item.id,
                            content_index=0, transcript=transcript, usage=usage)  # fmt: skip
        await self.emit_item_done(item)

    async def _on_heard(self, item_id: str, delta: str) -> None:
        """More of a committed turn's text, heard by a recogniser that listens as the caller speaks."""
        if self.config.transcription is not None:
            await self.emit("conversation.item.input_audio_transcription.delta", item_id=item_id, content_index=0,
                            delta=delta)  # fmt: skip

    async def _clear(self, event: InputAudioBufferClear) -> None:
        self.buffer.clear()
        self._transcripts.drop_speculation()
        if self._turns is not None:
            self._turns.reset()
        self._speech_item = None
        await self.emit("input_audio_buffer.cleared")

    # --- conversation items ---------------------------------------------------------------------------
    async def _item_create(self, event: ConversationItemCreate) -> None:
        item, pcm = client_item(event.item, event.item.id or ids.item_id(), self.config.input_format)
        try:
            previous = self.conversation.add(item, event.previous_item_id)
        except ConversationError as exc:
            raise ProtocolError("item_not_found", str(exc), param="previous_item_id") from None
        await self.emit_item_added(item, previous)
        await self.emit_item_done(item)
        if pcm is not None:
            self._transcripts.start(item, pcm, -1, self.config.asr_hints)

    async def _item_truncate(self, event: ConversationItemTruncate) -> None:
        item = self._get(event.item_id)
        content = item.spoken(event.content_index)
        if self._response and item in self._response[0].output:
            await self._stop_response("client_cancelled")  # what follows the cut will never be heard
        if event.audio_end_ms > content.audio_ms + 1:
            raise ProtocolError("invalid_value", f"audio_end_ms {event.audio_end_ms} is longer than the item's "
                                f"{int(content.audio_ms)} ms of audio", param="audio_end_ms")  # fmt: skip
        content.truncate(event.audio_end_ms)
        if self._echo_ref is not None:
            self._echo_ref.truncated(item.id, event.audio_end_ms)
        await self.emit("conversation.item.truncated", item_id=item.id, content_index=event.content_index,
                        audio_end_ms=event.audio_end_ms)  # fmt: skip

    async def _item_delete(self, event: ConversationItemDelete) -> None:
        self._get(event.item_id)
        self.conversation.delete(event.item_id)
        await self.emit("conversation.item.deleted", item_id=event.item_id)

    async def _item_retrieve(self, event: ConversationItemRetrieve) -> None:
        await self.emit("conversation.item.retrieved", item=self._get(event.item_id).to_wire(self.dialect))

    def _get(self, item_id: str) -> Item:
        try:
            return self.conversation.get(item_id)
        except ConversationError as exc:
            raise ProtocolError("item_not_found", str(exc), param="item_id") from None

    # --- responses ------------------------------------------------------------------------------------
    async def _response_create(self, event: ResponseCreate) -> None:
        if self._response is not None:
            raise ProtocolError("conversation_already_has_active_response",
                                f"Conversation already has an active response in progress: {self._response[0].id}. "
                                "Wait until the response is finished before creating a new one.",
                                event_id=event.event_id)  # fmt: skip
        params = event.response or ResponseParams()
        InterimResponse.from_wire(params.interim_response, "response.interim_response")  # (checked before it runs)
        await self._start_response(params)

    async def _response_cancel(self, event: ResponseCancel) -> None:
        current = self._response
        if current is None or (event.response_id and event.response_id != current[0].id):
            raise ProtocolError("response_cancel_not_active", "Cancellation failed: no active response found.",
                                event_id=event.event_id)  # fmt: skip
        await self._stop_response("client_cancelled")

    async def _start_response(self, params: ResponseParams) -> None:
        if self._response is not None:  # VAD turn while a reply runs without interrupt_response: let it finish
            return
        run = ResponseRun(
            id=ids.response_id(), config=self.config, params=params, conversation=self.conversation,
            runtime=self.runtime, brain=self.brain, send=self.emit, emit_item_added=self.emit_item_added,
            emit_item_done=self.emit_item_done, dialect=self.dialect, before_brain=self._transcripts.wait_all,
            audio_sent=self._echo_sent, mcp=self._mcp,
        )  # fmt: skip
        task = asyncio.create_task(self._run_response(run), name=f"response-{run.id}")
        self._response = (run, task)
        self._idle.replying()

    async def _run_response(self, run: ResponseRun) -> None:
        with self.runtime.warmup.reply():  # replies first: no warm-up engine-wide meanwhile
            try:
                started = self.buffer.end_ms
                await run.run()
                self._idle.replied(started, run.audio_ms, self.buffer.end_ms)
            except ConnectionResetError:  # the caller hung up mid-reply: nothing left to say it to
                log.debug("session %s: client gone during response %s", self.id, run.id)
            except Exception:
                log.exception("session %s: response %s failed", self.id, run.id)
                with contextlib.suppress(ConnectionResetError):
                    await self._error(ProtocolError("server_error", "the response failed"), kind="server_error")
            finally:
                if self._response is not None and self._response[0] is run:
                    self._response = None

    async def _stop_response(self, reason: str, *, announce: bool = True) -> None:
        """Cancel the running response and wait until its closing events are out."""
        current = self._response
        if current is None:
            return
        run, task = current
        run.status_reason = reason
        run.silenced = not announce
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        self._response = None
