"""One model response: brain → sentences → TTS → audio and transcript deltas, or a function call.

The run is a task; cancelling it (response.cancel, or the caller speaking with interrupt_response)
stops audio within one chunk and still closes every open item, ending with response.done.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.audio.formats import Encoder
from bot.engine import reply_voice
from bot.engine.brain.base import Brain, BrainOutput, DialogRequest, ToolCall, ToolSpec
from bot.engine.conversation import Content, Conversation, Item, brain_turns
from bot.engine.mcp_tools import McpCatalog
from bot.engine.reply_voice import APOLOGY
from bot.engine.runtime import EngineRuntime
from bot.engine.speech.aligned_voice import AlignedSpeech
from bot.errors import OverloadedError, SpeechServiceError
from bot.realtime import ids
from bot.realtime.client_events import ResponseParams
from bot.realtime.dialect import Dialect
from bot.realtime.interim_response import InterimResponse
from bot.realtime.session_config import SessionConfig

log = logging.getLogger(__name__)
MAX_MCP_ROUNDS = 4  # MCP calls one reply may make before it must answer
CHUNK_MS = 100  # audio per delta: a cancel lands within one chunk
FIRST_CLAUSE_MIN_WORDS = 8
_CLAUSE_END = re.compile(r"[,:;]\s+|\s+[-–—]\s+")  # where a spoken clause ends inside a sentence


def opening(text: str) -> str:
    """What a reply of `text` synthesizes first: its first sentence, or that sentence's first clause."""
    return first_clause(_SENTENCE_END.split(text.strip(), maxsplit=1)[0])[0]


def first_clause(sentence: str) -> list[str]:
    """A long sentence as its first clause and the rest, so its first audio comes from a few words of
    TTS ("From our returns page:" | "Returns are accepted…"); short sentences and clauses stay whole."""
    if len(sentence.split()) < FIRST_CLAUSE_MIN_WORDS:
        return [sentence]
    for m in _CLAUSE_END.finditer(sentence):
        head, tail = sentence[: m.end()].strip(), sentence[m.end() :].strip()
        if len(head.split()) >= 3 and len(tail.split()) >= 3:
            return [head, tail]
    return [sentence]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

Emit = Callable[..., Awaitable[None]]


@dataclass
class ResponseRun:
    id: str
    config: SessionConfig
    params: ResponseParams
    conversation: Conversation
    runtime: EngineRuntime
    brain: Brain
    send: Emit  # send(canonical_type, **fields): to the client
    emit_item_added: Callable[[Item, str | None], Awaitable[None]]
    emit_item_done: Callable[[Item], Awaitable[None]]
    dialect: Dialect
    before_brain: Callable[[], Awaitable[None]]  # waits for pending input transcriptions
    audio_sent: Callable[[str, bytes], None] = lambda item_id, wire: None  # each audio chunk as sent (echo reference)
    status_reason: str = "client_cancelled"  # why, if it gets cancelled
    silenced: bool = False  # stopped without announcing it (the socket is closing): send nothing more
    output: list[Item] = field(default_factory=list)
    _message: Item | None = None
    _encoder: Encoder | None = None
    _started: float = 0.0
    _failed_voice: bool = False  # the voice service failed: the apology was said, the response ends
    _chars: int = 0  # of reply text said so far (for max_output_tokens)
    _cut: bool = False  # the token budget ran out: the rest is not said, the response is incomplete
    mcp: McpCatalog | None = None  # the session's MCP servers' tools, which the engine calls itself
    _interim_task: asyncio.Task[None] | None = None  # the latency trigger's timer, then its line

    @property
    def audio_ms(self) -> float:
        """Of reply audio sent so far."""
        return sum(
            c.audio_ms for item in self.output if item.type == "message" for c in item.content if c.type == "audio"
        )

    async def emit(self, canonical: str, **fields: Any) -> None:
        if not self.silenced:
            await self.send(canonical, **fields)

    @property
    def in_conversation(self) -> bool:
        return self.params.conversation != "none"

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.params.output_modalities or self.params.modalities or self.config.modalities)

    @property
    def interim(self) -> InterimResponse | None:
        """Voice Live's interim line (the response's own, or the session's): said while the reply is slow."""
        given = self.params.interim_response
        return self.config.interim_response if given is None else InterimResponse.from_wire(given, "response")

    @property
    def _parallel_tools(self) -> bool | None:
        given = self.params.parallel_tool_calls
        return self.config.parallel_tool_calls if given is None else given

    @property
    def voice(self) -> str:
        return self.params.voice or self.config.voice

    def _wire(self, status: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "object": "realtime.response",
            "status": status,
            "status_details": details,
            "output": [item.to_wire(self.dialect) for item in self.output],
            "conversation_id": "conv_default" if self.in_conversation else None,
            "metadata": self.params.metadata,
            "usage": None,
        }
        key = "output_modalities" if self.dialect is Dialect.GA else "modalities"
        out[key] = list(self.modalities)
        return out

    async def run(self) -> None:
        await self.emit("response.created", response=self._wire("in_progress"))
        self._started = time.perf_counter()
        if self.interim is not None and self._interim_line("latency"):
            self._interim_task = asyncio.create_task(self._interim_after(self.interim.latency_threshold_ms / 1000))
        try:
            await self.before_brain()
            self._stage("asr_wait_ms", self._started)
            if self.mcp is not None:
                await self.mcp.ready()  # (its servers' tools listed)
            text = ""
            brain_start = time.perf_counter()
            async for piece in self._brain_pieces():
                if brain_start:
                    self._stage("brain_ms", brain_start)
                    brain_start = 0.0
                    await self._interim_settled()
                if isinstance(piece, ToolCall):
                    if self._parallel_tools is False and any(i.type == "function_call" for i in self.output):
                        log.info("response %s: a second tool call dropped (parallel_tool_calls is false)", self.id)
                        continue
                    await self._flush_text(text)
                    text = ""
                    await self._function_call(piece)
                    continue
                text += piece
                *complete, text = _SENTENCE_END.split(text)
                for sentence in complete:
                    for part in self._first_clause(sentence):
                        await self._say(part)
                if self._cut:
                    break
            await self._interim_settled()
            if not self._cut:
                await self._flush_text(text)
            await self._close_message("incomplete" if self._cut else "completed")
            if self._cut:  # (as the API reports a reply cut at its token budget)
                details = {"type": "incomplete", "reason": "max_output_tokens"}
                await self.emit("response.done", response=self._wire("incomplete", details))
            else:
                await self.emit("response.done", response=self._wire("completed"))
        except asyncio.CancelledError:
            await self._close_message("incomplete")
            details = {"type": "cancelled", "reason": self.status_reason}
            await self.emit("response.done", response=self._wire("cancelled", details))
            raise
        except Exception as exc:
            code = (
                "engine_overloaded"
                if isinstance(exc, OverloadedError)
                else "speech_service_error"
                if isinstance(exc, SpeechServiceError)
                else "server_error"
            )
            log.exception("response %s failed", self.id)
            await self._close_message("incomplete")
            error = {"type": "server_error", "code": code, "message": str(exc)}
            await self.emit("error", error={**error, "param": None, "event_id": None})
            await self.emit("response.done", response=self._wire("failed", {"type": "failed", "error": error}))
        finally:
            if self._interim_task is not None:  # (never a line after the response is done)
                self._interim_task.cancel()

    def _interim_line(self, trigger: str) -> str | None:
        """Voice Live's interim line for this trigger, in a spoken reply that has said nothing yet."""
        fresh = self._message is None and not any(item.type == "message" for item in self.output)
        interim = self.interim
        on = interim is not None and trigger in interim.triggers and "audio" in self.modalities and fresh
        return interim.line() if on and interim is not None else None

    async def _interim_after(self, delay_s: float) -> None:
        """Trigger `latency`: nothing to say after `delay_s` (ASR, the brain or an MCP tool still working)."""
        await asyncio.sleep(delay_s)
        if (line := self._interim_line("latency")) is not None:
            await self._say(line)

    async def _interim_settled(self) -> None:
        """The reply's first words are here: a latency line not begun is dropped, one begun finished first."""
        task, self._interim_task = self._interim_task, None
        if task is None:
            return
        if self._message is None:
            task.cancel()
        for failure in await asyncio.gather(task, return_exceptions=True):
            if isinstance(failure, Exception):  # (its voice failed: the reply itself meets it next, and says so)
                log.warning("response %s: the interim line failed: %s", self.id, failure)

    def _stage(self, stage: str, since: float) -> None:
        self.runtime.stats.record(stage, (time.perf_counter() - since) * 1000)

    def _request(self) -> DialogRequest:
        tools = self.params.tools if self.params.tools is not None else list(self.config.tools)
        extra = tuple(self.mcp.specs()) if self.mcp is not None else ()
        return DialogRequest(
            instructions=self.config.instructions,
            # (not the reply being said: an interim line said while the brain was waited for)
            history=tuple(brain_turns(i for i in self.conversation if i is not self._message)),
            tools=(*(ToolSpec.from_wire(t) for t in tools if t.get("type", "function") == "function"), *extra),
            tool_choice=self.params.tool_choice or self.config.tool_choice,
            response_instructions=self.params.instructions,
            parallel_tool_calls=self._parallel_tools,
        )

    async def _flush_text(self, text: str) -> None:
        if text.strip():
            for part in self._first_clause(text.strip()):
                await self._say(part)

    def _first_clause(self, sentence: str) -> list[str]:
        """Split a long first sentence after its first clause: the caller hears the reply sooner."""
        return first_clause(sentence) if self._message is None else [sentence]

    async def _open_message(self) -> tuple[Item, Content]:
        if self._message is None:
            audio = "audio" in self.modalities
            content = Content(
                "audio" if audio else "text", transcript="" if audio else None, text=None if audio else ""
            )
            self._message = Item(ids.item_id(), "message", role="assistant", status="in_progress", content=[content])
            await self._add_item(self._message)
            part = content.to_wire(Dialect.BETA)  # content parts keep beta's type names in both dialects
            await self.emit("response.content_part.added", **self._where(self._message), content_index=0, part=part)
            if audio:
                self._encoder = Encoder(self.config.output_format, self.runtime.voices.get(self.voice).sample_rate)
        return self._message, self._message.content[0]

    def _budgeted(self, sentence: str) -> str | None:
        """What of `sentence` fits the reply's max_output_tokens (a token taken as 4 characters, the
        usual rule for English); None once the budget is spent."""
        budget = next((b for b in (self.params.max_output_tokens, self.params.max_response_output_tokens,
                                   self.config.max_output_tokens) if b is not None), "inf")  # fmt: skip
        if budget == "inf" or self._cut:
            return None if self._cut else sentence
        left = int(budget) * 4 - self._chars
        if len(sentence) <= left:
            self._chars += len(sentence) + 1
            return sentence
        self._cut = True
        kept = sentence[:left].rsplit(" ", 1)[0] if " " in sentence[:left] else ""
        return kept or None

    async def _say(self, sentence: str) -> None:
        fitting = self._budgeted(sentence)
        if fitting is None:
            return
        sentence = fitting
        item, content = await self._open_message()
        where = {**self._where(item), "content_index": 0}
        if content.type == "text":
            content.text = (content.text or "") + sentence + " "
            await self.emit("response.text.delta", **where, delta=sentence + " ")
            return
        tts_start = time.perf_counter()
        said: AlignedSpeech | None = None
        try:
            pcm, said = await reply_voice.synthesize(self.runtime, self.config.speech_output, self.voice, sentence)
        except SpeechServiceError:
            # The voice service failed mid-reply: the caller hears an apology in the engine's own espeak
            # voice instead of silence, and the response ends failed with the reason (run's handler).
            self._failed_voice = True
            sentence, pcm = APOLOGY, await reply_voice.apology(self.runtime, self.voice)
        first = content.audio_ms == 0
        if first:
            self._stage("tts_first_ms", tts_start)
        assert self._encoder is not None
        wire = self._encoder.process(pcm)
        content.transcript = (content.transcript or "") + sentence + " "
        await self.emit("response.audio_transcript.delta", **where, delta=sentence + " ")
        if said is not None:  # (each before the audio it belongs to)
            for kind, fields in reply_voice.marks(self.config.speech_output, said, content.audio_ms):
                await self.emit(kind, **where, **fields)
        fmt = self.config.output_format
        step = max(1, int(fmt.bytes_per_ms * CHUNK_MS)) // 2 * 2
        for start in range(0, len(wire), step):
            chunk = wire[start : start + step]
            content.audio_ms += fmt.duration_ms(len(chunk))
            self.audio_sent(where["item_id"], chunk)
            await self.emit("response.audio.delta", **where, delta=base64.b64encode(chunk).decode())
            if first:
                self._stage("first_audio_ms", self._started)
                first = False
        content.marks.append((content.audio_ms, content.transcript.strip()))
        if self._failed_voice:
            raise SpeechServiceError("the voice service failed; an apology was said in the fallback voice")

    async def _close_message(self, status: str) -> None:
        item = self._message
        if item is None:
            return
        self._message = None
        content = item.content[0]
        where = {**self._where(item), "content_index": 0}
        if content.type == "audio":
            assert self._encoder is not None
            tail = self._encoder.flush()
            if tail:
                content.audio_ms += self.config.output_format.duration_ms(len(tail))
                self.audio_sent(where["item_id"], tail)
                await self.emit("response.audio.delta", **where, delta=base64.b64encode(tail).decode())
            content.transcript = (content.transcript or "").strip()
            await self.emit("response.audio.done", **where)
            if self.config.speech_output.word_timestamps:
                await self.emit("response.audio_timestamp.done", **where)
            if self.config.speech_output.visemes:
                await self.emit("response.animation_viseme.done", **where)
            await self.emit("response.audio_transcript.done", **where, transcript=content.transcript)
        else:
            content.text = (content.text or "").strip()
            await self.emit("response.text.done", **where, text=content.text)
        await self.emit("response.content_part.done", **where, part=content.to_wire(Dialect.BETA))
        await self._finish_item(item, status)

    async def _brain_pieces(self) -> AsyncIterator[BrainOutput]:
        """The brain's reply; a call to an MCP tool is made here (its mcp_call item), and the brain asked
        again with the result, a few rounds at most."""
        for _ in range(MAX_MCP_ROUNDS + 1):
            called = False
            pieces = self.brain.respond(self._request())
            try:
                async for piece in pieces:
                    if isinstance(piece, ToolCall) and self.mcp is not None and self.mcp.server_of(piece.name):
                        await self._mcp_call(piece)
                        called = True
                        break
                    yield piece
            finally:
                await pieces.aclose()  # type: ignore[attr-defined]
            if not called:
                return

    async def _mcp_call(self, call: ToolCall) -> None:
        await self._interim_settled()
        if (line := self._interim_line("tool")) is not None:  # (said before the call, which the engine waits for)
            await self._say(line)
        await self._close_message("completed")
        assert self.mcp is not None
        server = self.mcp.server_of(call.name)
        arguments = json.dumps(call.arguments)
        item = Item(
            ids.item_id(), "mcp_call", name=call.name, arguments="", server_label=server.label if server else ""
        )
        await self._add_item(item)
        where = self._where(item)
        await self.emit("response.mcp_call_arguments.delta", **where, delta=arguments)
        item.arguments = arguments
        await self.emit("response.mcp_call_arguments.done", **where, arguments=arguments)
        await self.emit("response.mcp_call.in_progress", item_id=item.id, output_index=where["output_index"])
        item.output, item.error = await self.mcp.call(call.name, call.arguments)
        done = "response.mcp_call.failed" if item.error else "response.mcp_call.completed"
        await self.emit(done, item_id=item.id, output_index=where["output_index"])
        await self._finish_item(item, "completed")

    async def _function_call(self, call: ToolCall) -> None:
        if (line := self._interim_line("tool")) is not None:  # (the client runs the tool after response.done)
            await self._say(line)
        await self._close_message("completed")
        arguments = json.dumps(call.arguments)
        item = Item(ids.item_id(), "function_call", status="in_progress", call_id=ids.call_id(), name=call.name,
                    arguments="")  # fmt: skip
        await self._add_item(item)
        where = {**self._where(item), "call_id": item.call_id}
        await self.emit("response.function_call_arguments.delta", **where, delta=arguments)
        item.arguments = arguments
        await self.emit("response.function_call_arguments.done", **where, name=call.name, arguments=arguments)
        await self._finish_item(item, "completed")

    async def _add_item(self, item: Item) -> None:
        self.output.append(item)
        await self.emit("response.output_item.added", response_id=self.id, output_index=len(self.output) - 1,
                        item=item.to_wire(self.dialect))  # fmt: skip
        if self.in_conversation:
            previous = self.conversation.add(item)
            await self.emit_item_added(item, previous)

    async def _finish_item(self, item: Item, status: str) -> None:
        item.status = status  # type: ignore[assignment]
        await self.emit("response.output_item.done", response_id=self.id, output_index=self.output.index(item),
                        item=item.to_wire(self.dialect))  # fmt: skip
        if self.in_conversation:
            await self.emit_item_done(item)

    def _where(self, item: Item) -> dict[str, Any]:
        return {"response_id": self.id, "item_id": item.id, "output_index": self.output.index(item)}
