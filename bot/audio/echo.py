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
   The gate adapts to the line: the loudest the line (before cancellation) has been next to the
   bot's audio, plus a margin, is as loud as its echo can be. The gate follows it `lag_ms` late (so
   a caller talking over the bot does not raise the gate against their own first words) and only
   once the bot has talked for a whole echo window plus that lag (so the echo, however late, has been
   heard). On a line that returns little or nothing, the gate comes down (to `floor_db` at most) and
   the soft start of a caller's word ("Can…") counts at once; on a line with a strong echo (−12 dB)
   it stays at `gate_db`. An echo that grows louder raises it `lag_ms` later.

3. Residual echo suppression (G.168's non-linear processor): while the bot's audio is on the line,
   frames that are not caller speech are passed on `suppress_db` quieter, so what is left of the echo
   never reaches the engine's VAD or recogniser either. Caller speech frames pass untouched, and so
   does everything for `hangover_ms` after one (double talk: the quieter parts of the caller's words).

The per-frame decision is webrtcvad (8 kHz, 20 ms frames) above a level floor.
"""

from __future__ import annotations

import audioop
import functools
import types
from collections import deque

import numpy as np
import webrtcvad

from bot.audio.frames import FRAME_MS, LINE_FRAME_BYTES, LINE_RATE, SPEECH_FLOOR, frame_bytes
from bot.audio.level import rms

STRONG = 2  # 6 dB above the echo gate: a frame no echo comes near
LOUD = 1000  # RMS (−30 dBFS): bot audio loud enough for the gate to matter and its echo to be measured


class SlidingMax:
    """The largest of the last `size` values, O(1) per value (a monotonic queue): the gate asks for
    it on every frame of every call."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._n = 0
        self._q: deque[tuple[int, float]] = deque()  # (position, value), values decreasing

    def push(self, value: float) -> None:
        while self._q and self._q[-1][1] <= value:
            self._q.pop()
        self._q.append((self._n, value))
        self._n += 1
        if self._q[0][0] <= self._n - 1 - self.size:
            self._q.popleft()

    @property
    def max(self) -> float:
        return self._q[0][1] if self._q else 0.0


def _load_library_once(wrapper: types.ModuleType) -> None:
    """speexdsp-aec looks libspeexdsp up for every canceller: three ctypes.util.find_library calls,
    each forking ldconfig, gcc and ld from the worker (~40 ms of CPU, and the event loop blocked
    meanwhile, per call; seconds under load). One lookup per process is enough."""
    load = getattr(wrapper, "_load_lib", None)
    if load is not None and not hasattr(load, "cache_info"):
        wrapper._load_lib = functools.cache(load)  # type: ignore[attr-defined]


class EchoCanceller:
    """Speex AEC over 20 ms frames of pcm16. `tail_ms` must cover the whole echo path:
    the far end's delay plus both jitter buffers (a phone network adds 100-300 ms)."""

    def __init__(self, tail_ms: int = 512, rate: int = LINE_RATE) -> None:
        from speexdsp_aec import SpeexAec, wrapper  # needs Debian libspeexdsp1

        _load_library_once(wrapper)
        self.frame_bytes = frame_bytes(rate)
        self._aec = SpeexAec(sample_rate=rate, frame_ms=FRAME_MS, filter_tail_ms=tail_ms)

    def process(self, mic: bytes, ref: bytes) -> bytes:
        near = np.frombuffer(mic, dtype=np.int16)
        far = np.frombuffer(ref, dtype=np.int16)
        out = self._aec.process(near, far)
        return out if len(out) == len(mic) else mic  # the wrapper only returns whole frames

    def close(self) -> None:
        self._aec.close()


class EchoGate:
    """Stages 2 and 3 above, for any rate: is a frame (after cancellation) louder than the bot's echo
    could be, and if not, turn it down."""

    def __init__(self, gate_db: float = 8.0, window_ms: int = 1200, suppress_ms: int = 600,
                 suppress_db: float = 30.0, hangover_ms: int = 300, floor_db: float = 25.0,
                 margin_db: float = 6.0, memory_ms: int = 3000, lag_ms: int = 500) -> None:  # fmt: skip
        """`window_ms`: how late the echo may come back (line delay, both jitter buffers, a far end
        starved of CPU); `suppress_ms`: how long after the bot's audio the residual is turned down;
        `floor_db`, `margin_db`, `memory_ms`, `lag_ms`: the adaptive gate's lowest point, its margin
        over the loudest line-to-bot ratio seen, how long a ratio is remembered and how late it
        counts (frames with loud bot audio in the echo window)."""
        self.cap = 10 ** (-gate_db / 20)  # the gate until the line is known, and its highest
        self.floor = 10 ** (-floor_db / 20)
        self.margin = 10 ** (margin_db / 20)
        self.gate = self.cap
        self.suppress = 10 ** (-suppress_db / 20)
        self._ref_levels = SlidingMax(max(1, window_ms // FRAME_MS))
        self._returns = SlidingMax(max(1, memory_ms // FRAME_MS))
        self._lagging: deque[float] = deque(maxlen=max(1, lag_ms // FRAME_MS))
        self._learn_frames = max(1, window_ms // FRAME_MS) + max(1, lag_ms // FRAME_MS)
        self._heard = 0  # frames of the line observed with the bot's audio in the echo window
        self._suppress_frames = max(1, suppress_ms // FRAME_MS)
        self._since_audio = self._suppress_frames  # frames since the bot's audio was last on the line
        self.hangover_frames = hangover_ms // FRAME_MS
        self._hangover = 0

    def reference(self, ref: bytes | None) -> None:
        """What was played on this frame's tick (None: nothing)."""
        level = rms(ref) if ref else 0
        self._ref_levels.push(level)
        self._since_audio = 0 if level else self._since_audio + 1

    def observe(self, line: bytes) -> None:
        """This frame of the line before cancellation: next to the bot's audio, its level bounds the
        echo's. Sets the gate once a whole echo window of it has been heard (see the module doc)."""
        echo = self.echo_level
        if echo < LOUD:
            return  # the bot's audio is too quiet here to tell its echo from line noise
        if len(self._lagging) == self._lagging.maxlen:
            self._returns.push(self._lagging[0])
        self._lagging.append(rms(line) / echo)
        self._heard += 1
        if self._heard >= self._learn_frames:  # (> the lag: some ratios have come through it)
            self.gate = min(self.cap, max(self.floor, self._returns.max * self.margin))

    @property
    def frames_since_audio(self) -> int:
        """Frames since the bot's audio was last on the line."""
        return self._since_audio

    @property
    def echo_level(self) -> int:
        return int(self._ref_levels.max)

    def is_echo(self, level: int) -> bool:
        """Too quiet, next to the bot's own audio, to be anything but its echo."""
        return level < self.echo_level * self.gate

    def pass_on(self, frame: bytes, speech: bool) -> bytes:
        """The frame to pass on: speech (and the `hangover_ms` after it) untouched; otherwise, while
        the bot's audio is on the line, what is left is echo: turned down by `suppress_db`."""
        if speech:
            self._hangover = self.hangover_frames
            return frame
        if self._hangover:
            self._hangover -= 1
            return frame
        if self._since_audio < self._suppress_frames:
            return audioop.mul(frame, 2, self.suppress)
        return frame


class CallerDetector:
    """Caller speech per 20 ms frame at the edge: echo cancelled, echo-gated, webrtcvad + level floor."""

    def __init__(self, *, echo_cancel: bool = True, floor_rms: int = SPEECH_FLOOR, aggressiveness: int = 2,
                 tail_ms: int = 512, gate: EchoGate | None = None) -> None:  # fmt: skip
        self.aec = EchoCanceller(tail_ms) if echo_cancel else None
        self.tail_frames = tail_ms // FRAME_MS + 1
        self.gate = gate or EchoGate()
        self.floor_rms = floor_rms
        self._vad = webrtcvad.Vad(aggressiveness)
        self.frames = 0
        self.gated = 0  # frames webrtcvad called speech that the echo gate refused (echo, or too quiet)
        self.strong = False  # the last frame was speech at least `STRONG` times the echo gate's level

    def process(self, mic: bytes, ref: bytes | None) -> tuple[bytes, bool]:
        """One frame of what the line brought (`mic`) and what the edge played meanwhile (`ref`,
        None for silence). Returns the frame to pass on (echo removed) and whether it is caller speech."""
        self.frames += 1
        self.gate.reference(ref)
        self.gate.observe(mic)
        clean = mic
        # Long after the bot's last audio there is no echo left to cancel: skip the filter (most of a call).
        if self.aec is not None and len(mic) == LINE_FRAME_BYTES and self.gate.frames_since_audio <= self.tail_frames:
            clean = self.aec.process(mic, ref if ref else bytes(LINE_FRAME_BYTES))
        level = rms(clean)
        speech = (
            level >= self.floor_rms and len(clean) == LINE_FRAME_BYTES and bool(self._vad.is_speech(clean, LINE_RATE))
        )
        if speech and self.gate.is_echo(level):
            self.gated += 1
            speech = False
        self.strong = speech and not self.gate.is_echo(level // STRONG)
        if self.aec is None:
            return clean, speech  # no echo cancellation asked for: pass the line on as it is
        return self.gate.pass_on(clean, speech), speech

    def close(self) -> None:
        if self.aec is not None:
            self.aec.close()
