"""Speech to text as an Azure Speech container serves it (USP over WebSocket), backed by the engine's
own VAD and recogniser, so the real Speech SDK recognises through us offline:
``SpeechConfig(host="ws://127.0.0.1:8765")``.

A request (the SDK's X-RequestId) is one audio stream: its first ``audio`` message carries a RIFF
header with the format, the rest raw PCM, an empty one ends it. The service answers ``turn.start``,
then per utterance ``speech.startDetected``, ``speech.hypothesis`` (partial text, about once a second
of speech, while the audio comes in real time)
and ``speech.phrase`` (the final text, simple or detailed as the query's ``format`` asks), and at the
end ``speech.endDetected`` and ``turn.end``. Interactive mode (``recognize_once``) ends the turn after
its first phrase; conversation and dictation go on until the stream ends. Offsets are 100 ns ticks
from the start of the stream. Phrase lists (``speech.context`` dgi groups) prime the recogniser. A
phrase ends after the segmentation silence (``segmentationSilenceTimeoutMs``), or with the semantic
segmentation mode where what was said so far sounds finished (the engine's own semantic end of turn:
"my account number is ..." waits through the pause before the digits).
"""

from __future__ import annotations

import logging
import struct
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.audio.frames import ENGINE_BYTES_PER_MS, ENGINE_FRAME_BYTES, ENGINE_RATE, FRAME_MS
from bot.audio.resample import Resampler
from bot.engine.speech import usp
from bot.engine.turns import FrameVad, Speculate, SpeechStarted, SpeechStopped, TurnDetector
from bot.turn_policies.end_of_turn import required_silence_ms

log = logging.getLogger(__name__)

Send = Callable[[str], Awaitable[None]]
Transcribe = Callable[[bytes, tuple[str, ...], str], Awaitable[str]]  # pcm16 16 kHz, phrases, language

SEGMENTATION_SILENCE_MS = 600  # the service's default end of a phrase
INITIAL_SILENCE_MS = {"interactive": 5000, "conversation": 15_000, "dictation": 15_000}  # the service's defaults
PREFIX_MS = 200  # of audio kept before the detected start of speech
HYPOTHESIS_EVERY_MS = 1000  # of speech between partial results
AHEAD_MS = 1000  # of audio beyond real time: partial results wait
MAX_HYPOTHESIS_MS = 8000  # no partials for longer speech (each would re-decode all of it)
MAX_PHRASE_MS = 20_000  # a phrase longer than this is cut (whisper's window)
MAX_PHRASES = 500  # phrase-list entries kept


@dataclass
class _Request:
    id: str
    rate: int  # of the client's PCM
    resampler: Resampler
    pending: bytes = b""  # 16 kHz bytes short of a frame
    audio_ms: int = 0  # of the stream heard so far
    speech: bytearray = field(default_factory=bytearray)  # the utterance in progress (16 kHz pcm16)
    speech_from_ms: int = 0  # where `speech` begins: PREFIX_MS before the detected start
    recent: deque[tuple[int, bytes]] = field(
        default_factory=lambda: deque(maxlen=PREFIX_MS // FRAME_MS + 6)
    )  # (+ the detector window)
    speech_start_ms: int | None = None
    heard_speech: bool = False
    last_hypothesis_ms: int = 0
    began: float = field(default_factory=time.monotonic)  # (wall clock, for `_ahead`)
    done: bool = False  # turn.end sent


def riff_format(header: bytes) -> tuple[int, int, int]:
    """(sample rate, bits per sample, channels) of a RIFF/WAVE header's fmt chunk."""
    if len(header) < 36 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        raise usp.UspError("the first audio message carries no RIFF/WAVE header")
    at = 12
    while at + 8 <= len(header):
        kind, size = header[at : at + 4], struct.unpack("<I", header[at + 4 : at + 8])[0]
        if kind == b"fmt " and at + 24 <= len(header):
            tag, channels, rate = struct.unpack("<HHI", header[at + 8 : at + 16])
            bits = struct.unpack("<H", header[at + 22 : at + 24])[0]
            if tag != 1:
                raise usp.UspError(f"audio format tag {tag}: only PCM is recognised")
            return rate, bits, channels
        at += 8 + size
    raise usp.UspError("the RIFF header has no fmt chunk")


def _riff_length(header: bytes) -> int:
    """Bytes before the samples: up to and including the data chunk's header."""
    at = 12
    while at + 8 <= len(header):
        kind, size = header[at : at + 4], struct.unpack("<I", header[at + 4 : at + 8])[0]
        if kind == b"data":
            return at + 8
        at += 8 + size
    return len(header)


def phrases_of(context: Any) -> tuple[str, ...]:
    """The phrase list of a speech.context body (its dgi groups' items)."""
    groups = ((context or {}).get("dgi") or {}).get("groups") or (context or {}).get("dgi", {}).get("Groups") or []
    found: list[str] = []
    for group in groups if isinstance(groups, list) else []:
        for item in (group or {}).get("items") or (group or {}).get("Items") or []:
            text = (item or {}).get("text") or (item or {}).get("Text")
            if isinstance(text, str) and text.strip():
                found.append(text.strip()[:100])
    return tuple(found[:MAX_PHRASES])


class RecognitionSession:
    """One recognition connection: messages in (`on_text`, `on_binary`), USP events out via `send`."""

    def __init__(self, send: Send, transcribe: Transcribe, mode: str, query: dict[str, str]) -> None:
        self._send = send
        self._transcribe = transcribe
        self.mode = mode if mode in INITIAL_SILENCE_MS else "interactive"
        self.language = query.get("language", "en-US")
        self.detailed = query.get("format", "simple").lower() == "detailed"
        self.silence_ms = _ms(query.get("segmentationSilenceTimeoutMs"), SEGMENTATION_SILENCE_MS)
        self.initial_silence_ms = _ms(query.get("initialSilenceTimeoutMs"), INITIAL_SILENCE_MS[self.mode])
        self.phrases: tuple[str, ...] = ()
        self.semantic = False  # segmentation mode "Semantic": a phrase ends where what was said sounds finished
        self._vad = FrameVad(0.5)
        self._turns = self._detector()
        self._request: _Request | None = None

    def _detector(self) -> TurnDetector:
        if self.semantic:  # (the engine's own semantic end of turn: bot/turn_policies/end_of_turn.py)
            return TurnDetector(required_silence_ms(None), speculate_ms=120)
        return TurnDetector(self.silence_ms)

    async def on_text(self, message: usp.Message) -> None:
        if message.path == "speech.context":
            context = message.json() or {}
            self.phrases = phrases_of(context)
            detection = context.get("phraseDetection") or {}
            # (the SDK puts segmentation under the mode: {"mode": "CONVERSATION", "CONVERSATION": {...}})
            per_mode = detection.get(str(detection.get("mode", ""))) or {}
            segmentation = detection.get("segmentation") or per_mode.get("segmentation") or {}
            if (silence := segmentation.get("segmentationSilenceTimeoutMs")) is not None:
                self.silence_ms = _ms(str(silence), self.silence_ms)
            self.semantic = str(segmentation.get("mode", "")).lower() == "semantic"
            self._turns = self._detector()
            if (initial := detection.get("initialSilenceTimeout")) is not None:
                self.initial_silence_ms = _ms(str(initial), self.initial_silence_ms)
        # speech.config (the client's system), telemetry and anything newer: nothing to answer

    async def on_binary(self, message: usp.Message) -> None:
        if message.path != "audio":
            return
        request = self._request
        if request is None or request.id != message.request_id:
            request = await self._begin(message)
            if request is None:
                return
        elif request.done:
            return  # (interactive: the turn ended at its first phrase; the rest of the stream is not heard)
        elif message.body:
            await self._audio(request, message.body)
        if not message.body:
            await self._end_of_stream(request)

    async def _begin(self, message: usp.Message) -> _Request | None:
        rate, bits, channels = riff_format(message.body)
        if bits != 16 or channels != 1:
            raise usp.UspError(f"{bits}-bit audio with {channels} channels: send 16-bit mono PCM")
        request = _Request(message.request_id, rate, Resampler(rate, ENGINE_RATE, quality="MQ"))
        self._request = request
        self._turns = self._detector()
        await self._send(usp.text("turn.start", request.id, {"context": {"serviceTag": uuid.uuid4().hex}}))
        samples = message.body[_riff_length(message.body) :]
        if samples:
            await self._audio(request, samples)
        return request

    async def _audio(self, request: _Request, pcm: bytes) -> None:
        data = request.pending + request.resampler.process(pcm)
        usable = len(data) - len(data) % ENGINE_FRAME_BYTES
        request.pending = data[usable:]
        for at in range(0, usable, ENGINE_FRAME_BYTES):
            if request.done:
                return
            await self._frame(request, data[at : at + ENGINE_FRAME_BYTES])

    async def _frame(self, request: _Request, frame: bytes) -> None:
        start_ms = request.audio_ms
        request.audio_ms += FRAME_MS
        request.recent.append((start_ms, frame))
        if request.speech_start_ms is not None:
            request.speech += frame
        for event in self._turns.feed(self._vad.is_speech(frame), start_ms):
            if isinstance(event, SpeechStarted):
                request.speech_start_ms = event.audio_start_ms
                request.heard_speech = True
                if self.semantic:
                    self._turns.silence_ms = required_silence_ms(None)  # (until a pause says otherwise)
                # (the detector decides a few frames into the speech: what came before it, and a little
                # lead-in as the engine's prefix padding gives whisper, is kept with it)
                kept = [(t, f) for t, f in request.recent if t >= event.audio_start_ms - PREFIX_MS]
                request.speech_from_ms = kept[0][0]
                request.speech = bytearray(b"".join(f for _, f in kept))
                request.last_hypothesis_ms = start_ms
                await self._send(
                    usp.text("speech.startDetected", request.id, {"Offset": usp.ticks(event.audio_start_ms)})
                )
            elif isinstance(event, Speculate) and self.semantic:
                await self._pause(request)
            elif isinstance(event, SpeechStopped):
                await self._phrase(request, event.audio_end_ms)
        if request.speech_start_ms is None:
            if not request.heard_speech and request.audio_ms >= self.initial_silence_ms:
                await self._no_match(request, "InitialSilenceTimeout")
            return
        spoken = request.audio_ms - request.speech_start_ms
        if spoken >= MAX_PHRASE_MS:
            await self._phrase(request, request.audio_ms)
        elif (spoken <= MAX_HYPOTHESIS_MS and request.audio_ms - request.last_hypothesis_ms >= HYPOTHESIS_EVERY_MS
              and not self._ahead(request)):  # fmt: skip
            request.last_hypothesis_ms = request.audio_ms
            said = await self._transcribe(bytes(request.speech), self.phrases, self.language)
            if said:
                body = {"Text": said, "Offset": usp.ticks(request.speech_start_ms), "Duration": usp.ticks(spoken)}
                await self._send(usp.text("speech.hypothesis", request.id, body))

    @staticmethod
    def _ahead(request: _Request) -> bool:
        """The audio has come faster than it plays (a client sending a recording, or a backlog): nobody
        waits on partial results as it is spoken, and each one would re-decode the phrase, delaying its
        final text; none are made until it is back to real time."""
        return request.audio_ms > (time.monotonic() - request.began) * 1000 + AHEAD_MS

    async def _pause(self, request: _Request) -> None:
        """Semantic segmentation, at a pause: what was said so far decides the silence that ends the phrase."""
        said = await self._transcribe(bytes(request.speech), self.phrases, self.language)
        self._turns.silence_ms = required_silence_ms(said)
        for event in self._turns.poll(request.audio_ms):
            if isinstance(event, SpeechStopped):
                await self._phrase(request, event.audio_end_ms)

    async def _phrase(self, request: _Request, end_ms: int) -> None:
        start = request.speech_start_ms
        if start is None:
            return
        pcm = bytes(request.speech[: max(0, end_ms - request.speech_from_ms) * ENGINE_BYTES_PER_MS])
        request.speech_start_ms, request.speech = None, bytearray()
        said = await self._transcribe(pcm, self.phrases, self.language)
        if not said:
            return  # (a cough: no phrase)
        await self._send(usp.text("speech.phrase", request.id, self._phrase_body(said, start, end_ms)))
        if self.mode == "interactive":
            await self._finish(request, end_ms)

    def _phrase_body(self, said: str, start_ms: int, end_ms: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "RecognitionStatus": "Success",
            "Offset": usp.ticks(start_ms),
            "Duration": usp.ticks(end_ms - start_ms),
        }
        if self.detailed:
            # (whisper writes the display form; its words, plain, stand in for the lexical and ITN forms;
            # no Confidence: the recogniser gives none that would mean what the service's does)
            plain = " ".join(w.strip(".,!?;:").lower() for w in said.split())
            body["NBest"] = [{"Lexical": plain, "ITN": plain, "MaskedITN": plain, "Display": said}]
        else:
            body["DisplayText"] = said
        return body

    async def _no_match(self, request: _Request, status: str) -> None:
        body = {"RecognitionStatus": status, "Offset": usp.ticks(request.audio_ms), "Duration": 0}
        await self._send(usp.text("speech.phrase", request.id, body))
        await self._finish(request, request.audio_ms)

    async def _end_of_stream(self, request: _Request) -> None:
        if request.done:
            return
        if request.speech_start_ms is not None:
            await self._phrase(request, request.audio_ms)
        if request.done:
            return
        if not request.heard_speech:
            await self._no_match(request, "InitialSilenceTimeout")
            return
        if self.mode != "interactive":  # (every phrase already said: the end of the dictation)
            body = {"RecognitionStatus": "EndOfDictation", "Offset": usp.ticks(request.audio_ms), "Duration": 0}
            await self._send(usp.text("speech.phrase", request.id, body))
            await self._finish(request, request.audio_ms)
        else:
            await self._no_match(request, "NoMatch")

    async def _finish(self, request: _Request, end_ms: int) -> None:
        request.done = True
        await self._send(usp.text("speech.endDetected", request.id, {"Offset": usp.ticks(end_ms)}))
        await self._send(usp.text("turn.end", request.id, {}))


def _ms(raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    return max(100, min(value, 60_000))
