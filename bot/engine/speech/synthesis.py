"""Text to speech as an Azure Speech container serves it (USP over WebSocket), backed by the offline
voice with its alignments (bot/engine/speech/aligned_voice.py), so the real Speech SDK synthesises
through us: ``SpeechSynthesizer(SpeechConfig(host="ws://127.0.0.1:8765"))``.

A request is ``synthesis.context`` (the output format, which metadata the client wants) and ``ssml``
under one X-RequestId. The answer: ``turn.start``; per sentence, its ``audio.metadata`` (word and
punctuation boundaries, visemes: each sent before the audio it belongs to) and then its ``audio``
in chunks, in the format asked (raw or RIFF PCM at 8-48 kHz, 8 kHz mu-law or A-law); ``turn.end``.
Offsets are 100 ns ticks of the output audio from the start of the request.
"""

from __future__ import annotations

import logging
import re
import struct
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.audio import g711
from bot.audio.resample import resample_once
from bot.engine.speech import usp
from bot.engine.speech.aligned_voice import AlignedSpeech
from bot.engine.speech.ssml import SsmlError, parse

log = logging.getLogger(__name__)

SendText = Callable[[str], Awaitable[None]]
SendBytes = Callable[[bytes], Awaitable[None]]
Speak = Callable[[str, float, float, float], Awaitable[AlignedSpeech]]  # sentence, rate, volume, pitch (TTS lane)

CHUNK_MS = 100  # of audio per audio message
_FORMAT = re.compile(r"^(raw|riff)-(\d+)(khz|hz)-(8|16)bit-mono-(pcm|mulaw|alaw)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
DEFAULT_FORMAT = "riff-16khz-16bit-mono-pcm"  # the service's, when the context names none


@dataclass(frozen=True)
class OutputFormat:
    name: str
    riff: bool
    rate: int
    encoding: str  # pcm | mulaw | alaw

    @classmethod
    def named(cls, name: str) -> OutputFormat:
        m = _FORMAT.match(name.lower())
        if m is None:
            raise usp.UspError(f"output format {name!r} is not available here: use raw-/riff- PCM, mulaw or alaw")
        rate = int(m.group(2)) * (1000 if m.group(3) == "khz" else 1)
        encoding, bits = m.group(5), int(m.group(4))
        if rate not in (8000, 16000, 22050, 24000, 44100, 48000) or (encoding == "pcm") != (bits == 16):
            raise usp.UspError(f"output format {name!r} is not available here")
        if encoding != "pcm" and rate != 8000:
            raise usp.UspError(f"output format {name!r}: mu-law and A-law are 8 kHz only")
        return cls(name.lower(), m.group(1) == "riff", rate, encoding)

    @property
    def bytes_per_ms(self) -> float:
        return self.rate / 1000 * (2 if self.encoding == "pcm" else 1)

    def encode(self, pcm16: bytes, from_rate: int) -> bytes:
        pcm = resample_once(pcm16, from_rate, self.rate)
        if self.encoding == "mulaw":
            return g711.pcm16_to_ulaw(pcm)
        if self.encoding == "alaw":
            return g711.pcm16_to_alaw(pcm)
        return pcm

    def riff_header(self) -> bytes:
        """A streaming WAV header (sizes unknown: the maximum)."""
        tag = {"pcm": 1, "alaw": 6, "mulaw": 7}[self.encoding]
        width = 2 if self.encoding == "pcm" else 1
        fmt = struct.pack("<HHIIHH", tag, 1, self.rate, self.rate * width, width, width * 8)
        return (
            b"RIFF"
            + struct.pack("<I", 0xFFFFFFFF)
            + b"WAVEfmt "
            + struct.pack("<I", len(fmt))
            + fmt
            + b"data"
            + struct.pack("<I", 0xFFFFFFFF)
        )


class SynthesisSession:
    """One synthesis connection: requests in order, each answered in full before the next."""

    def __init__(self, send_text: SendText, send_bytes: SendBytes, speak: Speak, voice_rate: int) -> None:
        self._send_text = send_text
        self._send_bytes = send_bytes
        self._speak = speak
        self._voice_rate = voice_rate
        self._contexts: dict[str, dict[str, Any]] = {}  # by request id, until its SSML comes

    async def on_text(self, message: usp.Message) -> None:
        if message.path == "synthesis.context":
            if len(self._contexts) >= 8:  # (contexts whose SSML never came: the oldest goes)
                self._contexts.pop(next(iter(self._contexts)))
            self._contexts[message.request_id] = message.json() or {}
        elif message.path == "ssml":
            context = self._contexts.pop(message.request_id, {})
            await self._synthesise(message.request_id, context, message.body.decode("utf-8", "replace"))

    async def on_binary(self, message: usp.Message) -> None:
        return None  # (a synthesis client sends no audio)

    async def _synthesise(self, request_id: str, context: dict[str, Any], ssml: str) -> None:
        audio = ((context.get("synthesis") or {}).get("audio") or {}) if isinstance(context, dict) else {}
        fmt = OutputFormat.named(str(audio.get("outputFormat") or DEFAULT_FORMAT))
        options = audio.get("metadataOptions") or {}
        words = bool(options.get("wordBoundaryEnabled", False))
        punctuation = bool(options.get("punctuationBoundaryEnabled", False))
        visemes = bool(options.get("visemeEnabled", False))
        try:
            speech = parse(ssml)
        except SsmlError as exc:
            raise usp.UspError(str(exc)) from exc
        await self._send_text(usp.text("turn.start", request_id, {"context": {"serviceTag": uuid.uuid4().hex}}))
        if fmt.riff:
            await self._audio(request_id, fmt, fmt.riff_header())
        at_ms = 0.0
        for piece in speech.pieces:
            if piece.break_ms:
                silence = fmt.encode(bytes(int(self._voice_rate * piece.break_ms / 1000) * 2), self._voice_rate)
                await self._chunks(request_id, fmt, silence)
                at_ms += piece.break_ms
                continue
            for sentence in _SENTENCE_END.split(piece.text):
                said = await self._speak(sentence, piece.rate, piece.volume, piece.pitch)
                # (one event a message, as the service sends them)
                for item in self._metadata(said, sentence, at_ms, words, punctuation, visemes):
                    await self._send_text(usp.text("audio.metadata", request_id, {"Metadata": [item]}))
                encoded = fmt.encode(said.pcm, self._voice_rate)
                await self._chunks(request_id, fmt, encoded)
                at_ms += len(encoded) / fmt.bytes_per_ms
        if options.get("sessionEndEnabled"):
            end = {"Type": "SessionEnd", "Data": {"Offset": usp.ticks(at_ms)}}
            await self._send_text(usp.text("audio.metadata", request_id, {"Metadata": [end]}))
        await self._send_text(usp.text("turn.end", request_id, {}))

    def _metadata(self, said: AlignedSpeech, sentence: str, at_ms: float, words: bool, punctuation: bool,
                  visemes: bool) -> list[dict[str, Any]]:  # fmt: skip
        out: list[dict[str, Any]] = []
        if words:
            for word in said.words:
                text = {"Text": word.text, "Length": len(word.text), "BoundaryType": "WordBoundary"}
                data = {
                    "Offset": usp.ticks(at_ms + word.start_ms),
                    "Duration": usp.ticks(word.duration_ms),
                    "text": text,
                }
                out.append({"Type": "WordBoundary", "Data": data})
        if punctuation and said.words and sentence.rstrip()[-1:] in ".,;:!?":
            last = said.words[-1]
            mark = sentence.rstrip()[-1]
            text = {"Text": mark, "Length": 1, "BoundaryType": "PunctuationBoundary"}
            end = at_ms + last.start_ms + last.duration_ms
            out.append({"Type": "WordBoundary", "Data": {"Offset": usp.ticks(end), "Duration": 0, "text": text}})
        if visemes:  # (no blend-shape animation: each viseme is its own last chunk, or the SDK waits for more)
            for v in said.visemes:
                out.append({"Type": "Viseme", "Data": {"Offset": usp.ticks(at_ms + v.start_ms), "VisemeId": v.viseme_id,
                                                        "IsLastAnimation": True, "AnimationChunk": ""}})  # fmt: skip
        return out

    async def _chunks(self, request_id: str, fmt: OutputFormat, audio: bytes) -> None:
        step = max(2, int(fmt.bytes_per_ms * CHUNK_MS) // 2 * 2)
        for at in range(0, len(audio), step):
            await self._audio(request_id, fmt, audio[at : at + step])

    async def _audio(self, request_id: str, fmt: OutputFormat, data: bytes) -> None:
        await self._send_bytes(usp.binary("audio", request_id, data))
