"""Text to speech through Azure Speech (VOICEBOT_TTS=azure): each sentence as SSML in the session's
Azure voice, raw 24 kHz pcm16 straight into the reply stream. One synthesiser per voice, kept (the SDK
keeps its connection open between sentences), used by one thread at a time. Blocking: the engine runs
it on the TTS lane. A cancellation raises SpeechServiceError.

`speak` is the shaped form (Voice Live's voice rate / pitch / volume, word timestamps, visemes): the
session's prosody goes into the SSML, and the service's own word boundaries and visemes come back
with the audio, as the offline voice gives them (bot/engine/speech/aligned_voice.py).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from bot.engine.azure.config import speech_config
from bot.engine.speech.aligned_voice import AlignedSpeech, Viseme, WordTiming
from bot.errors import SpeechServiceError
from bot.settings import Settings

OUTPUT_HZ = 24000  # (Raw24Khz16BitMonoPcm)
_AZURE_VOICE = re.compile(r"^[a-z]{2,3}-[A-Z]{2}-\w")  # "en-US-AvaNeural", "en-US-Ava:DragonHDLatestNeural"


def is_azure_voice(name: str) -> bool:
    """An Azure voice name, not an OpenAI one ("alloy") or an espeak one."""
    return bool(_AZURE_VOICE.match(name))


def ssml(text: str, voice: str, language: str = "en-US", prosody: Mapping[str, str | None] | None = None) -> str:
    """`prosody`: SSML prosody attributes (rate, pitch, volume), those set wrapping the text."""
    body, attrs = escape(text), " ".join(f"{k}={quoteattr(v)}" for k, v in (prosody or {}).items() if v)
    body = f"<prosody {attrs}>{body}</prosody>" if attrs else body
    return (f"<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang={quoteattr(language)}>"
            f"<voice name={quoteattr(voice)}>{body}</voice></speak>")  # fmt: skip


_TICKS_PER_MS = 10_000  # the SDK's offsets are in 100 ns ticks
MARKS_WAIT_S = 2.0  # for the SDK's event thread to deliver the marks of a sentence already synthesised


class AzureVoice:
    def __init__(self, settings: Settings, name: str) -> None:
        import azure.cognitiveservices.speech as speechsdk

        self.name = name
        self.sample_rate = OUTPUT_HZ
        config = speech_config(settings)
        config.set_speech_synthesis_output_format(speechsdk.SpeechSynthesisOutputFormat.Raw24Khz16BitMonoPcm)
        self._synthesizer: Any = speechsdk.SpeechSynthesizer(config, audio_config=None)
        self._lock = threading.Lock()
        self._words: list[WordTiming] = []  # of the sentence being synthesised (under the lock)
        self._visemes: list[Viseme] = []
        self._ended = threading.Event()  # the SDK's completed/canceled event came: every mark before it too
        self._synthesizer.synthesis_word_boundary.connect(self._on_word)
        self._synthesizer.viseme_received.connect(self._on_viseme)
        self._synthesizer.synthesis_completed.connect(lambda _: self._ended.set())
        self._synthesizer.synthesis_canceled.connect(lambda _: self._ended.set())

    def synthesize(self, sentence: str) -> bytes:
        return self.speak(sentence).pcm

    def speak(self, sentence: str, prosody: Mapping[str, str | None] | None = None) -> AlignedSpeech:
        """The sentence in this voice with `prosody` (SSML values), and where the service says its words
        and visemes are."""
        import azure.cognitiveservices.speech as speechsdk

        with self._lock:
            self._words, self._visemes = [], []
            self._ended.clear()
            result = self._synthesizer.speak_ssml_async(ssml(sentence, self.name, prosody=prosody)).get()
            # (the result resolves while the SDK's event thread may still be handing over the last marks)
            self._ended.wait(MARKS_WAIT_S)
            words, visemes = self._words, self._visemes
        if result.reason == speechsdk.ResultReason.SynthesizingAudioCompleted:
            return AlignedSpeech(bytes(result.audio_data), words, visemes)
        details = result.cancellation_details
        raise SpeechServiceError(f"Azure Speech synthesis failed ({details.reason}: {details.error_details})")

    def close(self) -> None:
        """Let the service connection go (the synthesiser keeps it open between sentences)."""
        import azure.cognitiveservices.speech as speechsdk

        with self._lock:
            for signal in (self._synthesizer.synthesis_word_boundary, self._synthesizer.viseme_received,
                           self._synthesizer.synthesis_completed, self._synthesizer.synthesis_canceled):  # fmt: skip
                signal.disconnect_all()  # (their bound methods make a cycle only the cyclic collector breaks)
            speechsdk.Connection.from_speech_synthesizer(self._synthesizer).close()

    def _on_word(self, event: Any) -> None:  # (the SDK's event thread, before the result resolves)
        import azure.cognitiveservices.speech as speechsdk

        if event.boundary_type == speechsdk.SpeechSynthesisBoundaryType.Word:
            duration = event.duration.total_seconds() * 1000
            self._words.append(WordTiming(event.text, event.audio_offset / _TICKS_PER_MS, duration))

    def _on_viseme(self, event: Any) -> None:
        self._visemes.append(Viseme(int(event.viseme_id), event.audio_offset / _TICKS_PER_MS))
