"""Speech to text through Azure Speech (VOICEBOT_ASR=azure): a caller turn the engine's turn detection
committed is recognised by the SDK over a push stream, continuously (a turn with a pause inside it is
several phrases: all of them are kept, in order), with the session's phrase list (Azure's recogniser
takes no free-text prompt: a session's transcription prompt is not used here). Blocking, like the
local recogniser: the engine runs it on the ASR lane. A cancellation with an error (bad key, quota,
network) raises SpeechServiceError; the engine reports it as the turn's transcription failure.
"""

from __future__ import annotations

import threading
from typing import Any

from bot.audio.frames import ENGINE_RATE
from bot.engine.azure.config import speech_config
from bot.errors import SpeechServiceError
from bot.settings import Settings

TRAILING_SILENCE_MS = 300  # after the turn: the service's segmentation ends the last phrase on it


def locale(language: str) -> str:
    """A session's language ("en", "fr", "en-GB") as an Azure locale."""
    if "-" in language:
        return language
    return {"en": "en-US"}.get(language.lower(), f"{language.lower()}-{language.upper()}")


class AzureRecognizer:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        speech_config(settings)  # (fails now on missing settings, not at the first caller turn)

    def transcribe(self, pcm16: bytes, *, phrases: tuple[str, ...] = (), language: str = "en", prompt: str = "") -> str:
        import azure.cognitiveservices.speech as speechsdk

        fmt = speechsdk.audio.AudioStreamFormat(samples_per_second=ENGINE_RATE, bits_per_sample=16, channels=1)
        stream = speechsdk.audio.PushAudioInputStream(fmt)
        recognizer = speechsdk.SpeechRecognizer(speech_config(self._settings, locale(language)),
                                                audio_config=speechsdk.audio.AudioConfig(stream=stream))  # fmt: skip
        if phrases:
            grammar = speechsdk.PhraseListGrammar.from_recognizer(recognizer)
            for phrase in phrases:
                grammar.addPhrase(phrase)
        said: list[str] = []
        errors: list[str] = []
        stopped = threading.Event()

        def recognized(event: Any) -> None:
            if event.result.reason == speechsdk.ResultReason.RecognizedSpeech and event.result.text:
                said.append(event.result.text)

        def canceled(event: Any) -> None:
            details = event.cancellation_details
            if details.reason == speechsdk.CancellationReason.Error:
                errors.append(f"{details.code}: {details.error_details}")
            stopped.set()

        recognizer.recognized.connect(recognized)
        recognizer.canceled.connect(canceled)
        recognizer.session_stopped.connect(lambda _: stopped.set())
        recognizer.start_continuous_recognition_async().get()
        try:
            stream.write(pcm16 + bytes(ENGINE_RATE * 2 * TRAILING_SILENCE_MS // 1000))
            stream.close()
            if not stopped.wait(self._settings.azure_speech_timeout_s):
                raise SpeechServiceError(f"Azure Speech gave no result in {self._settings.azure_speech_timeout_s:g} s")
        finally:
            recognizer.stop_continuous_recognition_async().get()
        if errors:
            raise SpeechServiceError(f"Azure Speech recognition failed ({errors[0]})")
        return " ".join(said)
