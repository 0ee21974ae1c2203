"""The frame buffers between pjmedia's clock thread and the call session (pure)."""

from __future__ import annotations

from sip.playout import FRAME_BYTES, FRAME_MS, InboundBuffer, PlayoutBuffer, until_tick


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
