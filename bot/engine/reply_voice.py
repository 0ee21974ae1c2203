"""How a reply's sentence becomes audio: the session's voice, or, with Voice Live's word timestamps,
visemes or prosody asked for (and the engine's own voice), the voice that knows where its words
are; the marks those give (timestamps and visemes, as events before their audio); and the apology
in the engine's espeak voice when the voice service fails."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from bot.audio.resample import resample_once
from bot.engine.azure.voice import AzureVoice
from bot.engine.speech.aligned_voice import AlignedSpeech
from bot.engine.speech.ssml import pitch_of, rate_of, volume_of
from bot.engine.tts import PiperVoice
from bot.realtime.speech_output import SpeechOutput

if TYPE_CHECKING:
    from bot.engine.runtime import EngineRuntime

FALLBACK_VOICE = "espeak:en-us"  # (espeak-ng: always there, loads in milliseconds)
APOLOGY = "I'm sorry, I'm having trouble speaking right now. Please bear with me."


async def synthesize(
    runtime: EngineRuntime, out: SpeechOutput, voice: str, sentence: str
) -> tuple[bytes, AlignedSpeech | None]:
    """The sentence's pcm16 at the voice's rate, and where its words are when that was asked for."""
    voices = runtime.voices
    chosen = voices.get(voice)
    if out.shaped and isinstance(chosen, AzureVoice):  # (the service's prosody, word boundaries and visemes)
        attributes = {"rate": out.rate, "pitch": out.pitch, "volume": out.volume}
        said = await runtime.pool.run("tts", functools.partial(chosen.speak, sentence, attributes))
        return said.pcm, said
    if out.shaped and chosen is voices.default and isinstance(voices.default, PiperVoice):
        prosody = rate_of(out.rate, 1.0), volume_of(out.volume, 1.0), pitch_of(out.pitch, 1.0)
        said = await runtime.speak_aligned(sentence, *prosody)
        return said.pcm, said
    return await runtime.pool.run("tts", voices.synthesize, voice, sentence), None


def marks(out: SpeechOutput, said: AlignedSpeech, at_ms: float) -> list[tuple[str, dict[str, Any]]]:
    """The events for a sentence whose audio starts `at_ms` into the item: visemes, then word timestamps."""
    events: list[tuple[str, dict[str, Any]]] = []
    if out.visemes:
        events += [("response.animation_viseme.delta", {"audio_offset_ms": round(at_ms + v.start_ms),
                                                        "viseme_id": v.viseme_id}) for v in said.visemes]  # fmt: skip
    if out.word_timestamps:
        events += [("response.audio_timestamp.delta", {"audio_offset_ms": round(at_ms + w.start_ms),
                    "audio_duration_ms": round(w.duration_ms), "text": w.text, "timestamp_type": "word"})
                   for w in said.words]  # fmt: skip
    return events


async def apology(runtime: EngineRuntime, voice: str) -> bytes:
    """APOLOGY in the fallback voice, at `voice`'s rate (the reply's encoder is set for it)."""
    fallback = runtime.voices.get(FALLBACK_VOICE)
    pcm = await runtime.pool.run("tts", fallback.synthesize, APOLOGY)
    return resample_once(pcm, fallback.sample_rate, runtime.voices.get(voice).sample_rate)
