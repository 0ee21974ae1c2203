"""Text to speech through Azure Speech (VOICEBOT_TTS=azure): each sentence as SSML in the session's
Azure voice, raw 24 kHz pcm16 straight into the reply stream. One synthesiser per voice, kept (the SDK
keeps its connection open between sentences), used by one thread at a time. Blocking: the engine runs
it on the TTS lane. A cancellation raises SpeechServiceError.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from bot.engine.azure.config import speech_config
from bot.errors import SpeechServiceError
from bot.settings import Settings

OUTPUT_HZ = 24000  # (Raw24Khz16BitMonoPcm)
_AZURE_VOICE = re.compile(r"^[a-z]{2,3}-[A-Z]{2}-\w")  # "en-US-AvaNeural", "en-US-Ava:DragonHDLatestNeural"


def is_azure_voice(name: str) -> bool:
    """An Azure voice name, not an OpenAI one ("alloy") or an espeak one."""
    return bool(_AZURE_VOICE.match(name))


def ssml(text: str, voice: str, language: str = "en-US") -> str:
    return (f"<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang={quoteattr(language)}>"
            f"<voice name={quoteattr(voice)}>{escape(text)}</voice></speak>")  # fmt: skip


class AzureVoice:
    def __init__(self, settings: Settings, name: str) -> None:
        import azure.cognitiveservices.speech as speechsdk

        self.name = name
        self.sample_rate = OUTPUT_HZ
        config = speech_config(settings)
        config.set_speech_synthesis_output_format(speechsdk.SpeechSynthesisOutputFormat.Raw24Khz16BitMonoPcm)
        self._synthesizer: Any = speechsdk.SpeechSynthesizer(config, audio_config=None)
        self._lock = threading.Lock()

    def synthesize(self, sentence: str) -> bytes:
        import azure.cognitiveservices.speech as speechsdk

        with self._lock:
            future = self._synthesizer.speak_ssml_async(ssml(sentence, self.name))
            result = future.get()
        if result.reason == speechsdk.ResultReason.SynthesizingAudioCompleted:
            return bytes(result.audio_data)
        details = result.cancellation_details
        raise SpeechServiceError(f"Azure Speech synthesis failed ({details.reason}: {details.error_details})")
