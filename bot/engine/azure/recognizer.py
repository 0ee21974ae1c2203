"""Speech to text through Azure Speech (VOICEBOT_ASR=azure). A caller turn under the engine's turn
detection is recognised while it is spoken (`listen`: bot/engine/azure/listening.py, its partial
results become transcription deltas); audio that comes whole (a manual commit, an audio item, a
speculative look at a pause) is recognised at once (`transcribe`, blocking, on the ASR lane). Azure's
recogniser takes no free-text prompt: a session's transcription prompt is not used here. A
cancellation with an error (bad key, quota, network) raises SpeechServiceError; the engine reports it
as the turn's transcription failure.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.engine.azure.config import speech_config
from bot.engine.azure.listening import AzureListening, locale
from bot.errors import SpeechServiceError
from bot.realtime.recognition_hints import Hints
from bot.settings import Settings

__all__ = ["AzureRecognizer", "locale"]


class AzureRecognizer:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.timeout_s = settings.azure_speech_timeout_s
        speech_config(settings)  # (fails now on missing settings, not at the first caller turn)

    def listen(self, hints: Hints, *, segmentation_ms: int | None = None,
               on_partial: Callable[[str], None] | None = None) -> AzureListening:  # fmt: skip
        """A turn to be recognised as it is spoken: write its audio, then end it."""
        return AzureListening(self._settings, hints, segmentation_ms=segmentation_ms, on_partial=on_partial)

    def transcribe(self, pcm16: bytes, *, phrases: tuple[str, ...] = (), language: str = "en", prompt: str = "") -> str:
        listening = self.listen(Hints(phrases, prompt, language))
        try:
            listening.write(pcm16)
            listening.end()
            if not listening.wait(self.timeout_s):
                raise SpeechServiceError(f"Azure Speech gave no result in {self.timeout_s:g} s")
        finally:
            listening.close()
        return listening.result()
