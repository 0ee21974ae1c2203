"""One caller turn recognised by Azure Speech while it is spoken: the SDK's continuous recognition
over a push stream, fed as the caller's audio arrives, so when the turn ends only its last phrase is
still to come.

The session's phrase list primes it, its language is the recogniser's, and the engine's turn
detection sets the SDK's segmentation silence (`segmentation_ms`, clamped to what the service takes).
Every phrase of the turn is kept, in order; the phrase in progress is `text`'s tail, and `text`
goes to `on_partial` (the SDK's thread) at each update of it and each phrase finished. A cancellation with an error (bad key, quota,
network) makes `result` raise SpeechServiceError.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from bot.audio.frames import ENGINE_RATE
from bot.engine.azure.config import speech_config
from bot.errors import SpeechServiceError
from bot.realtime.recognition_hints import Hints
from bot.settings import Settings

TRAILING_SILENCE_MS = 300  # written after the turn: the service's segmentation ends the last phrase on it
_TICKS_PER_MS = 10_000  # the SDK's offsets and durations are 100 ns ticks
SEGMENTATION_MS = (100, 5000)  # the SDK's range for Speech_SegmentationSilenceTimeoutMs


def locale(language: str) -> str:
    """A session's language ("en", "fr", "en-GB") as an Azure locale."""
    if "-" in language:
        return language
    return {"en": "en-US"}.get(language.lower(), f"{language.lower()}-{language.upper()}")


class AzureListening:
    def __init__(self, settings: Settings, hints: Hints, *, segmentation_ms: int | None = None,
                 on_partial: Callable[[str], None] | None = None) -> None:  # fmt: skip
        import azure.cognitiveservices.speech as speechsdk

        self._sdk = speechsdk
        config = speech_config(settings, locale(hints.language))
        if segmentation_ms is not None:
            ms = min(max(segmentation_ms, SEGMENTATION_MS[0]), SEGMENTATION_MS[1])
            config.set_property(speechsdk.PropertyId.Speech_SegmentationSilenceTimeoutMs, str(ms))
        fmt = speechsdk.audio.AudioStreamFormat(samples_per_second=ENGINE_RATE, bits_per_sample=16, channels=1)
        self._stream = speechsdk.audio.PushAudioInputStream(fmt)
        self._recognizer = speechsdk.SpeechRecognizer(
            config, audio_config=speechsdk.audio.AudioConfig(stream=self._stream)
        )
        if hints.phrases:
            grammar = speechsdk.PhraseListGrammar.from_recognizer(self._recognizer)
            for phrase in hints.phrases:
                grammar.addPhrase(phrase)
        self._on_partial = on_partial
        self._lock = threading.Lock()  # the SDK's thread writes what follows; any thread reads it
        self._said: list[str] = []
        self._said_to_ms = 0.0  # where the last finished phrase ends, from the start of the stream
        self._hypothesis = ""
        self._errors: list[str] = []
        self._done = threading.Event()
        self._on_done: list[Callable[[], None]] = []
        self._ended = False
        self._recognizer.recognizing.connect(self._recognizing)
        self._recognizer.recognized.connect(self._recognized)
        self._recognizer.canceled.connect(self._canceled)
        self._recognizer.session_stopped.connect(lambda _: self._finish())
        # (not waited for: the push stream holds what is written until the recogniser reads it; `close`
        # waits for it)
        self._started = self._recognizer.start_continuous_recognition_async()

    @property
    def text(self) -> str:
        """What has been heard so far: the finished phrases and the one in progress."""
        with self._lock:
            return " ".join([*self._said, self._hypothesis] if self._hypothesis else self._said)

    def covers(self, ms: float) -> bool:
        """Finished phrases reach `ms` into the stream and none is in progress: nothing before `ms` is
        still to be recognised."""
        with self._lock:
            return bool(self._said) and not self._hypothesis and self._said_to_ms >= ms

    def write(self, pcm16: bytes) -> None:
        """More of the turn (16 kHz pcm16); ignored once `end` was called."""
        if not self._ended and pcm16:
            self._stream.write(pcm16)

    def end(self, on_done: Callable[[], None] | None = None) -> None:
        """No more audio: the last phrase is recognised; `on_done` is called (on any thread) once the
        result is ready, or at once when it is already."""
        with self._lock:
            ready = self._done.is_set()
            if on_done is not None and not ready:
                self._on_done.append(on_done)
        if not self._ended:
            self._ended = True
            self._stream.write(bytes(ENGINE_RATE * 2 * TRAILING_SILENCE_MS // 1000))
            self._stream.close()
        if on_done is not None and ready:
            on_done()

    def wait(self, timeout_s: float) -> bool:
        """Blocking: whether the result came within `timeout_s`."""
        return self._done.wait(timeout_s)

    def result(self) -> str:
        """The turn's text (every phrase, in order); raises SpeechServiceError for a failed recognition."""
        with self._lock:
            if self._errors:
                raise SpeechServiceError(f"Azure Speech recognition failed ({self._errors[0]})")
            return " ".join(self._said)

    def close(self) -> None:
        """Blocking: stop recognising and let the connection go, now: the SDK would keep it open until
        the recogniser is collected, and its callbacks make a cycle that only the cyclic collector
        breaks (the offline container answered the next turns' connections 429, the service counts
        them against the subscription's concurrency)."""
        try:
            self._started.get()
            self._recognizer.stop_continuous_recognition_async().get()
        finally:
            self._finish()
            for signal in (self._recognizer.recognizing, self._recognizer.recognized, self._recognizer.canceled,
                           self._recognizer.session_stopped):  # fmt: skip
                signal.disconnect_all()
            self._sdk.Connection.from_recognizer(self._recognizer).close()

    # --- the SDK's thread -------------------------------------------------------------------------
    def _recognizing(self, event: Any) -> None:
        with self._lock:
            self._hypothesis = event.result.text or ""
        if self._on_partial is not None and event.result.text:
            self._on_partial(self.text)

    def _recognized(self, event: Any) -> None:
        said = event.result.reason == self._sdk.ResultReason.RecognizedSpeech and bool(event.result.text)
        with self._lock:
            if said:
                self._said.append(event.result.text)
                self._said_to_ms = (event.result.offset + event.result.duration) / _TICKS_PER_MS
            self._hypothesis = ""
        if said and self._on_partial is not None:
            self._on_partial(self.text)

    def _canceled(self, event: Any) -> None:
        details = event.cancellation_details
        if details.reason == self._sdk.CancellationReason.Error:
            with self._lock:
                self._errors.append(f"{details.code}: {details.error_details}")
        self._finish()

    def _finish(self) -> None:
        with self._lock:
            if self._done.is_set():
                return
            self._done.set()
            callbacks, self._on_done = self._on_done, []
        for callback in callbacks:
            callback()
