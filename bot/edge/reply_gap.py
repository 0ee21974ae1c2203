"""The edge's own mouth-to-ear figure, per turn: from the caller's last voiced frame to the first frame
of the bot's reply played on the line, counted on the call's media clock (20 ms frames), the clock the
recording is written on. Pure: frames in, a gap out."""

from __future__ import annotations

from dataclasses import dataclass

from bot.audio.frames import FRAME_MS
from bot.audio.level import rms
from bot.edge.buffers import CallerFrame

TAIL_RMS = 100  # about -50 dBFS: quieter than that is no speech on a phone line
FLOOR_TIMES = 3.0  # a tail frame stands this far above the noise between words
FLOOR_RISE = 1.01  # per frame: the floor follows a noisier line up within a few seconds


@dataclass(frozen=True)
class ReplyGap:
    at_ms: int  # where the reply's first frame is in the call (frame number x 20 ms)
    gap_ms: int  # silence between the caller's last voiced frame and it


class ReplyGaps:
    """The speech detector's frames mark the caller's speech; its soft end (a final "s", a breath
    the detector already let go of) is followed on the line's level while it stays above
    TAIL_RMS and well above the line's noise floor, as an endpointer's hangover would. A reply that
    starts while the caller is still speaking has no gap: the one after it answers them."""

    def __init__(self) -> None:
        self._last_voiced: int | None = None  # the caller's latest frame of speech
        self._unanswered = False  # the caller spoke since the bot last began to play
        self._bot_playing = False
        self._in_speech = False  # the frame before was speech (a tail may follow it)
        self._floor = float(TAIL_RMS)  # the line's level between words (a slow-rising minimum)

    def frame(self, f: CallerFrame) -> ReplyGap | None:
        """The gap when `f` starts a reply to something the caller said, else None."""
        level = float(rms(f.line))
        quiet_bot = not self._bot_playing
        speech = bool(f.voiced) and (quiet_bot or f.strong)  # (over the bot: only speech clear of its echo)
        tail = quiet_bot and self._in_speech and level >= max(TAIL_RMS, FLOOR_TIMES * self._floor)
        if speech or tail:
            self._last_voiced, self._unanswered = f.number, True
        elif quiet_bot:
            self._floor = min(level, max(self._floor, 1.0) * FLOOR_RISE)
        self._in_speech = speech or tail
        playing = f.played is not None
        onset, self._bot_playing = playing and not self._bot_playing, playing
        if not onset or not self._unanswered or self._last_voiced is None:
            return None
        if speech or tail:  # the bot began over the caller's words: no reply to them yet (a barge-in follows)
            return None
        self._unanswered = False
        return ReplyGap(f.number * FRAME_MS, (f.number - self._last_voiced - 1) * FRAME_MS)
