"""Frame buffers shared between the media clock (pjmedia's thread) and the event loop. Pure.

Only deque append/popleft and int/bool updates cross threads (atomic under the GIL); nothing here
blocks. The media clock is whatever pops the playout and pushes caller frames every 20 ms: pjmedia's
bridge in production (sip/media.py), a task on a virtual clock in the unit tests.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

from bot.audio.frames import FRAME_MS
from bot.audio.frames import LINE_FRAME_BYTES as FRAME_BYTES


class FrontEnd(Protocol):
    strong: bool  # the last frame was speech well clear of the bot's echo

    def process(self, mic: bytes, played: bytes | None) -> tuple[bytes, bool]: ...


class OnsetDetector(Protocol):
    def frame(self, voiced: bool, strong: bool = False) -> bool: ...


@dataclass(frozen=True, slots=True)
class CallerFrame:
    number: int  # position in the call: 0, 1, 2...
    line: bytes  # as the line brought it
    clean: bytes  # after the front end (echo removed); `line` without one
    played: bytes | None  # what the edge played on the same clock tick (None: silence)
    voiced: bool | None  # the front end's speech decision (None: no front end)
    strong: bool = False  # ...and well clear of the bot's echo
    onset: bool = False  # the caller's speech has begun (the one `OnsetDetector` decided)


class Hold:
    """Whether the bot's reply is held for the caller (played as silence, kept where it stopped):
    the one place that state lives, and its only writer.

    The media clock pauses on a speech onset (`pause_on_onset`: one frame later the line is quiet).
    Everything else happens on the event loop, where the barge-in policy decides: it `pause`s (and so
    adopts a pause the clock made), `resume`s, or, not holding, `settle`s — a pause the clock made
    at a frame the policy has seen and not taken for a barge-in is released.
    """

    def __init__(self) -> None:
        self._paused = False
        self._onset_frame = -1  # the frame the media clock paused at; -1: the policy owns the pause

    @property
    def paused(self) -> bool:
        return self._paused

    def pause_on_onset(self, frame: int) -> None:  # media clock
        if not self._paused:
            self._onset_frame = frame
            self._paused = True

    def pause(self) -> None:  # event loop, the policy's PAUSE
        self._onset_frame = -1
        self._paused = True

    def resume(self) -> None:  # event loop
        self._onset_frame = -1
        self._paused = False

    def settle(self, seen: int) -> bool:
        """The policy has taken every frame up to number `seen` and holds nothing: release a pause
        the media clock made at one of them. True when it did."""
        if self._paused and 0 <= self._onset_frame <= seen:
            self.resume()
            return True
        return False


@dataclass(frozen=True)
class FrontEndChain:
    """What the event loop plugs into an `InboundBuffer` for a call with its own detector."""

    front_end: FrontEnd
    onset: OnsetDetector
    playout: PlayoutBuffer  # held at an onset while it has bot audio queued


class InboundBuffer:
    """Caller frames from the media clock to the call session.

    With a front end attached (echo canceller + speech detector + the onset rule) each frame is
    processed on the clock tick it arrives, next to what was played on that tick; when speech starts
    while the playout has bot audio queued, its `Hold` is paused right there. The call session's
    barge-in policy then decides what the pause was (see bot/turn_policies/barge_in.py).

    Overflow policy: at most `max_frames` wait (a stalled session); the oldest audio is dropped first.
    """

    def __init__(self, max_frames: int = 250) -> None:
        self._frames: deque[CallerFrame] = deque(maxlen=max_frames)
        self.received = 0
        self._chain: FrontEndChain | None = None

    def attach(self, chain: FrontEndChain) -> None:
        self._chain = chain

    def detach(self) -> None:
        """The media clock may be inside the front end right now: it is not closed here; the last
        reference going frees it (libspeexdsp state included)."""
        self._chain = None

    def push(self, frame: bytes, played: bytes | None = None) -> None:  # media clock
        chain, number = self._chain, self.received  # (the session may detach it meanwhile)
        if chain is None:
            self._frames.append(CallerFrame(number, frame, frame, played, None))
        else:
            clean, voiced = chain.front_end.process(frame, played)
            strong = chain.front_end.strong
            onset = chain.onset.frame(voiced, strong)
            if onset and chain.playout.busy:
                chain.playout.hold.pause_on_onset(number)  # (before the frame is queued: its reader sees the pause)
            self._frames.append(CallerFrame(number, frame, clean, played, voiced, strong, onset))
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
        self._received: dict[str, int] = {}  # bytes of each item's audio pushed (its last frame is padded)
        self.current_item: str | None = None  # item of the last frame played
        self.dropped = 0
        self.underruns = 0  # frames due while a reply was still arriving: the engine fell behind
        self._unfinished: set[str] = set()
        self.hold = Hold()  # barge-in on hold: play silence, keep the reply where it stopped

    def push(self, item_id: str, pcm16: bytes) -> None:  # event loop
        self._unfinished.add(item_id)
        self._received[item_id] = self._received.get(item_id, 0) + len(pcm16)
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

    def pop(self) -> bytes | None:  # media clock
        if self.hold.paused:
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
        """Drop everything queued (barge-in); return the item that was playing and its played ms (never
        more than the item's audio: its padded last frame counts only the audio it held)."""
        self._frames.clear()
        self._partial = b""
        self._unfinished.clear()
        self.hold.resume()
        item = self.current_item
        if not item:
            return item, 0
        return item, min(self.played_ms.get(item, 0), self._received.get(item, 0) * FRAME_MS // FRAME_BYTES)

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
