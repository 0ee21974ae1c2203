"""The caller's side of the line at the edge: echo cancelled, then judged speech or not.

On a phone line the bot hears itself: the far end (a hybrid, a speakerphone) returns its own voice,
delayed and attenuated. Two stages keep that echo from ever counting as the caller:

1. Speex's adaptive echo canceller (libspeexdsp through `speexdsp-aec`), with what the edge actually
   played as the reference, frame for frame (both come from the same tick of pjmedia's clock).
   It removes 15-20 dB once converged, without adding delay, and keeps double talk.
2. An echo gate: while the bot's own audio is on the line, a frame counts as caller speech only if,
   after cancellation, it is within `gate_db` of the loudest reference frame of the echo window.
   A residual echo (or an echo the filter has not learnt yet) is always well below that; a caller
   talking over the bot is about as loud as the bot. The trade-off: a caller far quieter than the
   bot (more than `gate_db` below it) cannot interrupt, as on a half-duplex speakerphone.

3. Residual echo suppression (G.168's non-linear processor): while the bot's audio is on the line,
   frames that are not caller speech are passed on `suppress_db` quieter, so what is left of the echo
   never reaches the engine's VAD or recogniser either. Caller speech frames pass untouched, and so
   does everything for `hangover_ms` after one (double talk: the quieter parts of the caller's words).

The per-frame decision is webrtcvad (8 kHz, 20 ms frames) above a level floor.
"""

from __future__ import annotations

import audioop
from collections import deque

import numpy as np
import webrtcvad

from bot.audio.level import rms

RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * 2


class EchoCanceller:
    """Speex AEC over 20 ms frames of 8 kHz pcm16. `tail_ms` must cover the whole echo path:
    the far end's delay plus both jitter buffers (a phone network adds 100-300 ms)."""

    def __init__(self, tail_ms: int = 512) -> None:
        from speexdsp_aec import SpeexAec  # needs Debian libspeexdsp1

        self._aec = SpeexAec(sample_rate=RATE, frame_ms=FRAME_MS, filter_tail_ms=tail_ms)

    def process(self, mic: bytes, ref: bytes) -> bytes:
        near = np.frombuffer(mic, dtype=np.int16)
        far = np.frombuffer(ref, dtype=np.int16)
        out = self._aec.process(near, far)
        return out if len(out) == len(mic) else mic  # the wrapper only returns whole frames

    def close(self) -> None:
        self._aec.close()


class CallerDetector:
    """Caller speech per 20 ms frame: echo cancelled (optional), echo-gated, webrtcvad + level floor."""

    def __init__(
        self,
        *,
        echo_cancel: bool = True,
        gate_db: float = 10.0,
        echo_window_ms: int = 600,
        floor_rms: int = 300,
        aggressiveness: int = 2,
        tail_ms: int = 512,
        suppress_db: float = 30.0,
        hangover_ms: int = 300,
    ) -> None:
        self.aec = EchoCanceller(tail_ms) if echo_cancel else None
        self.gate = 10 ** (-gate_db / 20)
        self.suppress = 10 ** (-suppress_db / 20) if echo_cancel else 1.0
        self.floor_rms = floor_rms
        self._vad = webrtcvad.Vad(aggressiveness)
        self._ref_levels: deque[int] = deque(maxlen=max(1, echo_window_ms // FRAME_MS))
        self.hangover_frames = hangover_ms // FRAME_MS
        self._hangover = 0
        self.frames = 0
        self.gated = 0  # frames webrtcvad called speech that the echo gate refused (echo, or too quiet)

    def process(self, mic: bytes, ref: bytes | None) -> tuple[bytes, bool]:
        """One frame of what the line brought (`mic`) and what the edge played meanwhile (`ref`,
        None for silence). Returns the frame to pass on (echo removed) and whether it is caller speech."""
        self.frames += 1
        ref_level = rms(ref) if ref else 0
        self._ref_levels.append(ref_level)
        clean = mic
        if self.aec is not None and len(mic) == FRAME_BYTES:
            clean = self.aec.process(mic, ref if ref else bytes(FRAME_BYTES))
        level = rms(clean)
        echo_level = max(self._ref_levels)
        if level < self.floor_rms or len(clean) != FRAME_BYTES or not self._vad.is_speech(clean, RATE):
            return self._residual(clean, echo_level), False
        if level < echo_level * self.gate:
            self.gated += 1
            return self._residual(clean, echo_level), False
        self._hangover = self.hangover_frames
        return clean, True

    def _residual(self, frame: bytes, echo_level: int) -> bytes:
        """Not caller speech: with the bot's audio on the line, what is left is echo; turn it down."""
        if self._hangover:
            self._hangover -= 1
            return frame
        if echo_level and self.suppress < 1.0:
            return audioop.mul(frame, 2, self.suppress)
        return frame

    def close(self) -> None:
        if self.aec is not None:
            self.aec.close()
