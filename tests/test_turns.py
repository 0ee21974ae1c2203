"""Turn detection as timelines: (ms, voiced) in, events out. No audio, no clock, no loop."""

from __future__ import annotations

from bot.audio.frames import FRAME_MS
from bot.engine.turns import Speculate, SpeechStarted, SpeechStopped, TurnDetector, TurnEvent


def run(detector: TurnDetector, pattern: str) -> list[tuple[int, TurnEvent]]:
    """`pattern`: one char per 20 ms frame, '#' voiced, '.' silent."""
    out = []
    for i, c in enumerate(pattern):
        for event in detector.feed(c == "#", i * FRAME_MS):
            out.append((i * FRAME_MS, event))
    return out


def test_speech_start_needs_several_voiced_frames() -> None:
    assert run(TurnDetector(500), "#....#....#....") == []
    events = run(TurnDetector(500), "....###")
    assert events == [(120, SpeechStarted(80))]


def test_stop_after_silence_with_speculation_first() -> None:
    events = run(TurnDetector(500, speculate_ms=200), "#####" + "." * 30)
    assert [type(e) for _, e in events] == [SpeechStarted, Speculate, SpeechStopped]
    assert events[1][1] == Speculate(100) and events[1][0] == 100 + 200 - FRAME_MS
    assert events[2][1] == SpeechStopped(100) and events[2][0] == 100 + 500 - FRAME_MS


def test_pause_shorter_than_silence_keeps_the_turn() -> None:
    events = run(TurnDetector(500), "#####" + "." * 20 + "#####" + "." * 30)
    kinds = [type(e) for _, e in events]
    assert kinds.count(SpeechStarted) == 1 and kinds.count(SpeechStopped) == 1
    assert kinds.count(Speculate) == 2  # speculation restarts after the caller resumed
    assert events[-1][1] == SpeechStopped(600)


def test_reset_forgets_a_turn_in_progress() -> None:
    d = TurnDetector(500)
    run(d, "#####")
    d.reset()
    assert not d.speaking


def test_hold_defers_the_end_until_released_then_poll_ends_it() -> None:
    d = TurnDetector(300)
    run(d, "#####")
    d.hold = True
    events = [e for t in range(5, 40) for e in d.feed(False, t * FRAME_MS)]
    assert not any(isinstance(e, SpeechStopped) for e in events)  # 700 ms of silence, still held
    d.hold = False
    assert d.poll(40 * FRAME_MS) == [SpeechStopped(100)]


def test_hold_has_a_cap() -> None:
    d = TurnDetector(300)
    run(d, "#####")
    d.hold = True
    stops = [e for t in range(5, 200) for e in d.feed(False, t * FRAME_MS) if isinstance(e, SpeechStopped)]
    assert stops == [SpeechStopped(100)]  # ended at the cap, once
