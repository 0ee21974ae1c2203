"""The audio clock every part of the product shares: 20 ms frames; the phone line at 8 kHz.

Defined here once. pjmedia's bridge, the edge's echo canceller and detector, the barge-in policy and
the engine's VAD all count in these frames.
"""

from __future__ import annotations

FRAME_MS = 20
LINE_RATE = 8000  # Hz: G.711, the bridge's clock
ENGINE_RATE = 16000  # Hz: the engine's VAD, recogniser (whisper takes 16 kHz) and echo canceller
SPEECH_THRESHOLD = 0.5  # the Realtime API's default VAD threshold (0..1)


def frame_samples(rate: int) -> int:
    return rate * FRAME_MS // 1000


def bytes_per_ms(rate: int) -> int:
    """Of 16-bit mono PCM."""
    return rate * 2 // 1000


def frame_bytes(rate: int) -> int:
    """Bytes of one frame of 16-bit mono PCM at `rate`."""
    return frame_samples(rate) * 2


def speech_floor(threshold: float = SPEECH_THRESHOLD) -> int:
    """RMS of pcm16 below which a frame is never speech, for a VAD threshold 0..1 (300, about
    -40 dBFS, at the default 0.5)."""
    return int(60 + 480 * threshold)


LINE_FRAME_SAMPLES = frame_samples(LINE_RATE)  # 160
LINE_FRAME_BYTES = frame_bytes(LINE_RATE)  # 320
ENGINE_FRAME_BYTES = frame_bytes(ENGINE_RATE)  # 640
ENGINE_BYTES_PER_MS = bytes_per_ms(ENGINE_RATE)  # 32
SPEECH_FLOOR = speech_floor()
