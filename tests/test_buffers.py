"""The frame buffers between the media clock and the call session, and the playout's hold (pure)."""

from __future__ import annotations

from bot.audio.frames import FRAME_MS
from bot.audio.frames import LINE_FRAME_BYTES as FRAME_BYTES
from bot.edge.buffers import FrontEndChain, InboundBuffer, PlayoutBuffer
from bot.edge.ticks import until_tick
from bot.turn_policies.barge_in import Onset


class LoudIsSpeech:
    """A front end for the test: a frame of non-zero bytes is speech."""

    strong = False

    def process(self, mic: bytes, played: bytes | None) -> tuple[bytes, bool]:
        return mic, any(mic)


def test_frames_are_cut_at_20ms_and_counted_per_item_as_played() -> None:
    p = PlayoutBuffer()
    p.push("a", bytes(FRAME_BYTES * 2 + 100))
    assert p.queued_ms == 2 * FRAME_MS  # the partial frame waits for more audio
    p.finish("a")  # ...or for the end of the item, padded with silence
    assert p.queued_ms == 3 * FRAME_MS
    p.push("b", bytes(FRAME_BYTES))
    frames = [p.pop() for _ in range(4)]
    assert all(f is not None and len(f) == FRAME_BYTES for f in frames)
    assert p.played_ms == {"a": 60, "b": 20} and p.pop() is None


def test_clear_reports_what_was_heard_of_the_current_item() -> None:
    p = PlayoutBuffer()
    p.push("a", bytes(FRAME_BYTES * 10))
    for _ in range(3):
        p.pop()
    assert p.clear() == ("a", 60)
    assert not p.busy and p.pop() is None


def test_a_cut_in_the_padded_last_frame_is_never_past_the_items_audio() -> None:
    """An item of 4806 ms plays as 241 frames, its last padded; a barge-in there reports 4806 ms, not
    4820 (the engine refuses a truncation past the audio it sent: CI saw that error)."""
    p = PlayoutBuffer()
    p.push("a", bytes(4806 * FRAME_BYTES // FRAME_MS))
    p.finish("a")
    while p.pop() is not None:
        pass
    assert p.played_ms["a"] == 4820 and p.clear() == ("a", 4806)


def test_overflow_drops_the_newest_frames() -> None:
    p = PlayoutBuffer(max_frames=3)
    p.push("a", bytes(FRAME_BYTES * 5))
    assert p.queued_ms == 60 and p.dropped == 2


def test_inbound_keeps_the_newest_when_the_session_stalls() -> None:
    i = InboundBuffer(max_frames=2)
    for n in range(3):
        i.push(bytes([n]))
    assert i.drain() == [b"\x01", b"\x02"] and i.received == 3


def test_ticks_land_on_shared_boundaries() -> None:
    assert abs(until_tick(10.013, 0.04) - 0.027) < 1e-9
    assert abs(until_tick(10.04, 0.04) - 0.04) < 1e-9


def test_underruns_count_only_gaps_inside_a_reply() -> None:
    p = PlayoutBuffer()
    assert p.pop() is None and p.underruns == 0  # the bot is simply quiet
    p.push("a", bytes(FRAME_BYTES))
    p.pop()
    assert p.pop() is None and p.underruns == 1  # more of "a" is due but has not arrived
    p.finish("a")
    assert p.pop() is None and p.underruns == 1


def test_an_onset_holds_the_playout_on_the_media_clock_and_only_there() -> None:
    playout, inbound = PlayoutBuffer(), InboundBuffer()
    inbound.attach(FrontEndChain(LoudIsSpeech(), Onset(start_ms=40, window_ms=60), playout))
    playout.push("a", bytes(FRAME_BYTES * 20))
    speech, quiet = b"\x01" * FRAME_BYTES, bytes(FRAME_BYTES)
    inbound.push(quiet)
    inbound.push(speech)
    assert not playout.hold.paused  # one frame of speech is not an onset
    inbound.push(speech)
    assert playout.hold.paused and playout.pop() is None  # the second is: silent at once
    frames = inbound.drain_frames()
    assert [f.onset for f in frames] == [False, False, True] and [f.number for f in frames] == [0, 1, 2]
    assert not playout.hold.settle(1)  # the policy has not seen the onset frame yet: the pause stays
    assert playout.hold.settle(2) and not playout.hold.paused  # seen and not taken: released
    inbound.push(speech)
    playout.hold.pause()  # the policy adopts a pause: settling does not release it
    assert not playout.hold.settle(3) and playout.hold.paused
    assert playout.clear() == (None, 0) and not playout.hold.paused  # (nothing of "a" was played)


def test_no_onset_pause_while_the_bot_is_quiet_or_detached() -> None:
    playout, inbound = PlayoutBuffer(), InboundBuffer()
    inbound.attach(FrontEndChain(LoudIsSpeech(), Onset(start_ms=20, window_ms=20), playout))
    inbound.push(b"\x01" * FRAME_BYTES)
    assert not playout.hold.paused  # nothing to hold
    inbound.detach()
    playout.push("a", bytes(FRAME_BYTES * 5))
    inbound.push(b"\x01" * FRAME_BYTES)
    assert not playout.hold.paused and inbound.drain_frames()[-1].voiced is None
