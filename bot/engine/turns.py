"""Server VAD: per-frame speech decisions → speech started / speculate / speech stopped.

Pure: it takes frame decisions stamped with audio time (ms since the session's first audio) and never
sleeps, so its tests are timelines. webrtcvad makes the per-frame decision (see `FrameVad`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import webrtcvad

from bot.audio.frames import ENGINE_RATE, FRAME_MS, speech_floor
from bot.audio.level import rms
from bot.realtime.turn_detection import TurnDetection
from bot.turn_policies.end_of_turn import required_silence_ms


@dataclass(frozen=True)
class SpeechStarted:
    audio_start_ms: int


@dataclass(frozen=True)
class Speculate:
    """Enough trailing silence to start transcribing before the turn is certainly over."""

    audio_end_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    audio_end_ms: int


TurnEvent = SpeechStarted | Speculate | SpeechStopped


class FrameVad:
    """webrtcvad on 20 ms frames of 16 kHz pcm16, gated by a level floor.

    `threshold` 0..1 maps to webrtcvad's aggressiveness 0..3 and to the floor (RMS of pcm16):
    webrtcvad alone calls the quiet tail after a word voiced, which delays the end of turn ~150 ms.
    """

    def __init__(self, threshold: float) -> None:
        self._vad = webrtcvad.Vad(min(3, int(threshold * 4)))
        self.floor_rms = speech_floor(threshold)

    def is_speech(self, frame: bytes) -> bool:
        return rms(frame) >= self.floor_rms and bool(self._vad.is_speech(frame, ENGINE_RATE))


class TurnDetector:
    """Speech starts when `start_frames` of the last `window` frames are voiced (a click or a lone
    voiced frame does not count); it stops after `silence_ms` without a voiced frame."""

    def __init__(self, silence_ms: int, *, window: int = 5, start_frames: int = 3, speculate_ms: int = 200) -> None:
        self.silence_ms = silence_ms
        self.speculate_ms = min(speculate_ms, silence_ms)
        self.start_frames = start_frames
        self._recent: deque[tuple[int, bool]] = deque(maxlen=window)
        self.speaking = False
        self._last_voiced_end = 0
        self._speculated = False
        # Semantic end of turn: while set, the silence alone does not end the turn (up to hold_cap_ms);
        # whoever set it decides, then clears it and calls poll().
        self.hold = False
        self.hold_cap_ms = 2500

    def poll(self, now_ms: int) -> list[TurnEvent]:
        """Re-check the end of turn at audio time `now_ms` (after `silence_ms` or `hold` changed)."""
        if self.speaking and not self.hold and now_ms - self._last_voiced_end >= self.silence_ms:
            return self._stop()
        return []

    def _stop(self) -> list[TurnEvent]:
        self.speaking = False
        self.hold = False
        self._recent.clear()
        return [SpeechStopped(self._last_voiced_end)]

    def reset(self) -> None:
        self._recent.clear()
        self.speaking = False
        self._speculated = False

    def feed(self, voiced: bool, frame_start_ms: int) -> list[TurnEvent]:
        """One frame's decision; returns the events this frame caused (usually none)."""
        frame_end = frame_start_ms + FRAME_MS
        self._recent.append((frame_start_ms, voiced))
        if voiced:
            self._last_voiced_end = frame_end
            self._speculated = False
            self.hold = False
        if not self.speaking:
            if voiced and sum(v for _, v in self._recent) >= self.start_frames:
                self.speaking = True
                start = next(t for t, v in self._recent if v)
                return [SpeechStarted(start)]
            return []
        silence = frame_end - self._last_voiced_end
        if silence >= self.silence_ms and (not self.hold or silence >= self.hold_cap_ms):
            return self._stop()
        if silence >= self.speculate_ms and not self._speculated:
            self._speculated = True
            return [Speculate(self._last_voiced_end)]
        return []


def detector_for(td: TurnDetection) -> tuple[FrameVad, TurnDetector]:
    """The VAD and turn detector a session's turn detection asks for. Semantic end of turn: the silence
    needed follows what was said, so speculation starts early to know it soon; end_of_utterance_detection's
    timeout_ms caps how long a turn is held open. speech_duration_ms: that much speech starts a turn."""
    start = max(1, -(-td.speech_duration_ms // FRAME_MS)) if td.speech_duration_ms else 3
    window = max(5, start)
    if td.semantic:
        turns = TurnDetector(
            required_silence_ms(None, td.eagerness), window=window, start_frames=start, speculate_ms=120
        )
        turns.hold_cap_ms = td.hold_cap_ms or turns.hold_cap_ms
    else:
        turns = TurnDetector(td.silence_duration_ms, window=window, start_frames=start)
    return FrameVad(td.threshold), turns
