"""Frame buffers shared between pjmedia's clock thread and the event loop. Pure, no pjsua2.

Only deque append/popleft and int updates cross threads (atomic under the GIL); nothing here blocks.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

FRAME_MS = 20
RATE = 8000  # Hz, the bridge's clock
FRAME_BYTES = RATE * FRAME_MS // 1000 * 2  # 320: 20 ms of pcm16


class FrontEnd(Protocol):
    strong: bool  # the last frame was speech well clear of the bot's echo

    def process(self, mic: bytes, played: bytes | None) -> tuple[bytes, bool]: ...


class OnsetDetector(Protocol):
    def frame(self, voiced: bool, strong: bool = False) -> bool: ...


@dataclass(frozen=True, slots=True)
class CallerFrame:
    line: bytes  # as the line brought it
    clean: bytes  # after the front end (echo removed); `line` without one
    played: bytes | None  # what the edge played on the same clock tick (None: silence)
    voiced: bool | None  # the front end's speech decision (None: no front end)
    strong: bool = False  # ...and well clear of the bot's echo


class InboundBuffer:
    """Caller frames from the clock thread to the call session.

    With a `front_end` (echo canceller + speech detector) each frame is processed on the clock tick
    it arrives, next to what was played on that tick; when speech starts (`onset`) while `hold` has
    bot audio queued, `hold` is paused right there — one frame later the line is quiet. The call
    session's barge-in policy then decides what the pause was (see bot/turn_policies/barge_in.py).

    Overflow policy: at most `max_frames` wait (a stalled session); the oldest audio is dropped first.
    """

    def __init__(self, max_frames: int = 250) -> None:
        self._frames: deque[CallerFrame] = deque(maxlen=max_frames)
        self.received = 0
        self.front_end: FrontEnd | None = None
        self.onset: OnsetDetector | None = None
        self.hold: PlayoutBuffer | None = None
        self.early_pauses = 0

    def push(self, frame: bytes, played: bytes | None = None) -> None:  # clock thread
        front_end, onset, hold = self.front_end, self.onset, self.hold  # (the session may detach them)
        if front_end is None:
            self._frames.append(CallerFrame(frame, frame, played, None))
        else:
            clean, voiced = front_end.process(frame, played)
            strong = front_end.strong
            if onset is not None and onset.frame(voiced, strong) and hold is not None and hold.busy and not hold.paused:
                hold.paused = True  # (before the frame is queued: whoever drains it sees the pause)
                self.early_pauses += 1
            self._frames.append(CallerFrame(frame, clean, played, voiced, strong))
        self.received += 1

    def drain(self) -> list[bytes]:  # event loop
        return [f.clean for f in self.drain_frames()]

    def drain_frames(self) -> list[CallerFrame]:  # event loop
        out = []
        while self._frames:
            out.append(self._frames.popleft())
        return out


class PlayoutBuffer:
    """Bot audio waiting to be played, 20 ms frames tagged with the engine item they belong to.

    Counts how many ms of each item were actually played, for barge-in truncation. Overflow policy:
    at most `max_frames` (2 min) are queued; frames beyond are dropped (newest) and counted.
    """

    def __init__(self, max_frames: int = 6000) -> None:
        self.max_frames = max_frames
        self._frames: deque[tuple[str, bytes]] = deque()
        self._partial = b""
        self._partial_item = ""
        self.played_ms: dict[str, int] = {}
        self.current_item: str | None = None  # item of the last frame played
        self.dropped = 0
        self.underruns = 0  # frames due while a reply was still arriving: the engine fell behind
        self._unfinished: set[str] = set()
        self.paused = False  # barge-in on hold: play silence, keep the reply where it stopped

    def push(self, item_id: str, pcm16: bytes) -> None:  # event loop
        self._unfinished.add(item_id)
        if item_id != self._partial_item:
            self._partial, self._partial_item = b"", item_id
        data = self._partial + pcm16
        usable = len(data) - len(data) % FRAME_BYTES
        self._partial = data[usable:]
        for i in range(0, usable, FRAME_BYTES):
            if len(self._frames) >= self.max_frames:
                self.dropped += 1
                continue
            self._frames.append((item_id, data[i : i + FRAME_BYTES]))

    def finish(self, item_id: str) -> None:
        """The item is complete: pad its last partial frame with silence so it is played too."""
        self._unfinished.discard(item_id)
        if self._partial and self._partial_item == item_id:
            self._frames.append((item_id, self._partial.ljust(FRAME_BYTES, b"\0")))
            self._partial = b""

    def pop(self) -> bytes | None:  # clock thread
        if self.paused:
            return None
        try:
            item_id, frame = self._frames.popleft()
        except IndexError:
            if self.current_item in self._unfinished:
                self.underruns += 1
            return None
        self.played_ms[item_id] = self.played_ms.get(item_id, 0) + FRAME_MS
        self.current_item = item_id
        return frame

    def clear(self) -> tuple[str | None, int]:
        """Drop everything queued (barge-in); return the item that was playing and its played ms."""
        self._frames.clear()
        self._partial = b""
        self._unfinished.clear()
        self.paused = False
        item = self.current_item
        return item, self.played_ms.get(item, 0) if item else 0

    @property
    def queued_ms(self) -> int:
        return len(self._frames) * FRAME_MS

    @property
    def busy(self) -> bool:
        return bool(self._frames)

    @property
    def complete(self) -> bool:
        """Nothing more is expected for what is queued (every item pushed was finished)."""
        return not self._unfinished


def until_tick(now: float, tick_s: float) -> float:
    """Seconds to the next multiple of `tick_s` on the loop clock. Every call's uplink (and the
    endpoint poll) wake on the same boundaries, so one loop iteration serves them all; pacing from
    the clock, not from the last wake-up, never drifts."""
    wait = (math.floor(now / tick_s) + 1) * tick_s - now
    return wait if wait > 1e-3 else wait + tick_s  # on a boundary (float error): the next one
