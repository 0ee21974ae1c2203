"""Test audio made with our own TTS and passed through a real phone channel (8 kHz, G.711 mu-law)."""

from __future__ import annotations

import functools

from bot.audio import g711
from bot.audio.resample import resample_once
from bot.engine.asr import Transcriber
from bot.engine.tts import PiperVoice


@functools.cache
def voice() -> PiperVoice:
    return PiperVoice()


@functools.cache
def transcriber() -> Transcriber:
    return Transcriber()


@functools.cache
def phone_ulaw(text: str) -> bytes:
    """`text` spoken by piper, band-limited to 8 kHz and mu-law encoded, as a phone line carries it."""
    v = voice()
    return g711.pcm16_to_ulaw(resample_once(v.synthesize(text, vary=False), v.sample_rate, 8000))


def phone_pcm(text: str, rate: int) -> bytes:
    """The phone-band utterance decoded and resampled to `rate` pcm16 (what a gateway sends an engine)."""
    return resample_once(g711.ulaw_to_pcm16(phone_ulaw(text)), 8000, rate)


def silence(fmt: str, ms: int) -> bytes:
    if fmt == "g711_ulaw":
        return b"\xff" * (8 * ms)
    rate = {"pcm16": 24000, "pcm16_16000hz": 16000, "pcm16_8000hz": 8000}[fmt]
    return bytes(rate // 1000 * 2 * ms)


def transcribe(pcm: bytes, rate: int) -> str:
    """What our ASR hears in pcm16 audio at `rate`."""
    return transcriber().transcribe(resample_once(pcm, rate, 16000))
