"""OpenAI GA's `turn_detection.idle_timeout_ms`: when the caller says nothing for that long after the
last reply has finished playing, the engine says so (input_audio_buffer.timeout_triggered, with the
silent span), commits that silence as the caller's turn and replies, so a quiet phone line gets a
"are you still there?" instead of nothing. Counted on the input audio's clock (what a client streams
in real time), where a reply is taken to play from the moment it started, for as long as its audio."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class IdleTimeout:
    since_ms: int | None = None  # when the last reply finished playing (input clock); None: not armed

    def replying(self) -> None:
        self.since_ms = None

    def replied(self, started_ms: int, audio_ms: float, now_ms: int) -> None:
        self.since_ms = max(now_ms, started_ms + round(audio_ms))

    def speech(self) -> None:
        self.since_ms = None

    def due(self, now_ms: int, timeout_ms: int | None) -> tuple[int, int] | None:
        """The silent span (start, end ms) once it has lasted `timeout_ms`; then disarmed."""
        if timeout_ms is None or self.since_ms is None or now_ms - self.since_ms < timeout_ms:
            return None
        span, self.since_ms = (self.since_ms, now_ms), None
        return span
