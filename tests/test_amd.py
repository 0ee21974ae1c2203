"""The answering-machine detector (bot/turn_policies/amd.py) on our TTS through G.711: a person's
short hello, a machine's greeting, silence, and a machine's beep (or the end of its greeting)."""

from __future__ import annotations

import numpy as np

from bot.audio import g711
from bot.turn_policies.amd import AnsweringMachineDetector, Verdict
from tests.audio import phone_ulaw


def pcm_of(ulaw: bytes) -> bytes:
    return g711.ulaw_to_pcm16(ulaw)


def frames(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + 320] for i in range(0, len(pcm) - 319, 320)]


def quiet(ms: int) -> bytes:
    return bytes(16 * ms)


def tone(ms: int, hz: float = 1000.0) -> bytes:
    t = np.arange(8 * ms) / 8000
    return (np.sin(2 * np.pi * hz * t) * 10000).astype(np.int16).tobytes()


def verdict_of(pcm: bytes) -> tuple[Verdict | None, int | None, AnsweringMachineDetector]:
    d = AnsweringMachineDetector()
    for f in frames(pcm):
        if (v := d.frame(f)) is not None:
            return v, d.decided_ms, d
    return None, None, d


def test_a_short_hello_then_waiting_is_a_person() -> None:
    verdict, ms, _ = verdict_of(quiet(400) + pcm_of(phone_ulaw("Uh, hello?")) + quiet(3000))
    assert verdict is Verdict.HUMAN and ms is not None and ms < 2500


def test_a_long_greeting_is_a_machine_before_it_ends() -> None:
    greeting = pcm_of(
        phone_ulaw("Hi, you've reached the Okafor family, we can't take your call, so please leave a message.")
    )
    verdict, ms, _ = verdict_of(quiet(300) + greeting + quiet(2000))
    assert verdict is Verdict.MACHINE and ms is not None and ms < len(greeting) // 16


def test_nobody_saying_anything_is_no_speech() -> None:
    verdict, ms, _ = verdict_of(quiet(6000))
    assert verdict is Verdict.NO_SPEECH and ms == 4000


def test_the_message_waits_for_the_beep_to_end_or_for_the_greeting_to_end() -> None:
    greeting = pcm_of(
        phone_ulaw("You have reached five five five, one two three four. Please leave a message after the tone.")
    )
    for tail, beeped in ((quiet(500) + tone(400) + quiet(3000), True), (quiet(3000), False)):
        audio = frames(quiet(300) + greeting + tail)
        d = AnsweringMachineDetector()
        due_at = None
        for i, f in enumerate(audio):
            if d.verdict is None:
                d.frame(f)
            elif d.message_due(f):
                due_at = i * 20
                break
        assert d.verdict is Verdict.MACHINE and due_at is not None and d.beeped is beeped
        end_of_greeting = 300 + len(greeting) // 16
        if beeped:
            assert end_of_greeting + 900 <= due_at <= end_of_greeting + 1000  # just after the tone
        else:
            assert end_of_greeting + 1400 <= due_at <= end_of_greeting + 1700  # the greeting is over
