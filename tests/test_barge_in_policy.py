"""The barge-in policy as timelines: frames and transcripts in, pause / resume / interrupt out."""

from __future__ import annotations

import pytest

from bot.turn_policies.barge_in import BargeAction, BargeInPolicy, BargeState, Onset, is_backchannel


def frame(
    policy: BargeInPolicy, voiced: bool, bot_active: bool, now: float, strong: bool = False
) -> BargeAction | None:
    """One frame through the policy's own onset rule (as the media clock runs it), then the policy."""
    onset: Onset = getattr(policy, "test_onset", None) or policy.onset_rule()
    setattr(policy, "test_onset", onset)  # noqa: B010
    return policy.frame(voiced, onset.frame(voiced, strong), bot_active, now)


def state(policy: BargeInPolicy) -> BargeState:
    return policy.state  # (read through a call: mypy would narrow the attribute across the steps)


def feed(policy: BargeInPolicy, pattern: str, start: float, bot_active: bool = True) -> list[tuple[float, BargeAction]]:
    """One character per 20 ms frame: '#' speech, '.' not. Returns the actions with their times."""
    out = []
    for i, ch in enumerate(pattern):
        now = start + i * 20
        action = frame(policy, ch == "#", bot_active, now)
        if action is not None:
            out.append((now, action))
    return out


def test_speech_over_the_bot_pauses_it_after_the_minimum_duration() -> None:
    p = BargeInPolicy()
    assert feed(p, "....####", 0) == [(120, BargeAction.PAUSE)]  # 3 frames: 60 ms of speech
    assert state(p) is BargeState.PAUSED


def test_a_click_or_scattered_frames_do_nothing() -> None:
    p = BargeInPolicy()
    assert feed(p, "#....#....#..#...#.", 0) == []
    assert state(p) is BargeState.IDLE and not p.heard


def test_speech_while_the_bot_is_quiet_is_heard_but_pauses_nothing() -> None:
    p = BargeInPolicy()
    assert feed(p, "######", 0, bot_active=False) == []
    assert p.heard and state(p) is BargeState.IDLE


def test_long_speech_interrupts_whatever_it_says() -> None:
    p = BargeInPolicy(interrupt_ms=800)
    actions = feed(p, "#" * 45, 0)
    assert [a for _, a in actions] == [BargeAction.PAUSE, BargeAction.INTERRUPT]
    assert actions[1][0] == 780  # the onset (at 40 ms) counts its 60 ms; 37 more frames make 800


def test_backchannel_transcript_resumes_and_words_interrupt() -> None:
    p = BargeInPolicy()
    feed(p, "########..........", 0)
    assert p.turn_committed("item1", 600)
    assert p.verdict("item1", "Uh-huh.") == (False, BargeAction.RESUME)
    assert state(p) is BargeState.IDLE
    feed(p, "########..........", 2000)
    assert p.turn_committed("item2", 2600)
    assert p.verdict("item2", "No, stop.") == (True, BargeAction.INTERRUPT)
    assert state(p) is BargeState.INTERRUPTED
    assert p.tick(3000, bot_active=False) is None and state(p) is BargeState.IDLE


def test_verdict_for_another_item_is_ignored() -> None:
    p = BargeInPolicy()
    feed(p, "#####", 0)
    p.turn_committed("item1", 200)
    assert p.verdict("other", "Stop right there") == (True, None)  # a turn, but not the one on hold
    assert state(p) is BargeState.PAUSED


def test_a_yes_over_the_end_of_a_question_is_the_answer() -> None:
    p = BargeInPolicy(answer_tail_ms=600)
    feed(p, "#####", 0)
    p.turn_committed("i", 300)
    assert p.verdict("i", "Yes.", reply_left_ms=400) == (True, BargeAction.INTERRUPT)
    assert p.tick(1000, bot_active=False) is None
    feed(p, "#####", 2000)
    p.turn_committed("j", 2300)
    assert p.verdict("j", "Yes.", reply_left_ms=3000) == (False, BargeAction.RESUME)  # much left: "go on"


def test_the_hold_ends_soon_after_the_caller_is_quiet() -> None:
    p = BargeInPolicy(resume_ms=800)
    feed(p, "######", 0)  # a cough the engine never made a turn of
    last_voiced = 100
    assert p.tick(last_voiced + 700, bot_active=True) is None
    assert p.tick(last_voiced + 800, bot_active=True) is BargeAction.RESUME


def test_words_known_after_the_bot_resumed_still_interrupt_it() -> None:
    p = BargeInPolicy(resume_ms=800)
    feed(p, "######", 0)
    assert p.tick(900, bot_active=True) is BargeAction.RESUME  # the transcript is slow
    assert p.turn_committed("i", 1000)  # ...but the turn was said over the bot
    assert p.verdict("i", "Stop, I need an agent.") == (True, BargeAction.INTERRUPT)
    p.tick(2000, bot_active=False)  # the bot stopped; then answers, and is talked over again
    feed(p, "######", 3000)
    p.tick(3900, bot_active=True)
    assert p.turn_committed("j", 4000)
    assert p.verdict("j", "Okay.") == (False, None)  # already going on: nothing to do, and no turn


def test_engine_events_drive_the_same_machine() -> None:
    p = BargeInPolicy(interrupt_ms=800)
    assert p.engine_speech(True, True, 0) is BargeAction.PAUSE
    assert p.tick(500, True) is None
    assert p.tick(820, True) is BargeAction.INTERRUPT
    p2 = BargeInPolicy()
    p2.engine_speech(True, True, 0)
    p2.engine_speech(False, True, 300)
    p2.turn_committed("i", 600)
    assert p2.verdict("i", "Mm-hmm.") == (False, BargeAction.RESUME)


def test_reply_gone_elsewhere_releases_the_hold() -> None:
    p = BargeInPolicy()
    feed(p, "#####", 0)
    p.interrupted_elsewhere()  # a keypad entry took the floor
    assert state(p) is BargeState.INTERRUPTED
    assert p.tick(200, bot_active=False) is None and state(p) is BargeState.IDLE


@pytest.mark.parametrize(
    ("said", "backchannel"),
    [
        ("Uh-huh.", True), ("Mm-hmm.", True), ("Yeah, okay.", True), ("", True), ("(coughs)", True),
        ("[BLANK_AUDIO]", True), ("Mmm.", True), ("I see.", True), ("Right, got it.", True),
        ("No.", False), ("Stop.", False), ("Wait, what about my order?", False), ("Yeah but I need an agent", False),
        ("Agent.", False), ("Okay so what is my balance", False),
    ],
)  # fmt: skip
def test_backchannels(said: str, backchannel: bool) -> None:
    assert is_backchannel(said) is backchannel


def test_a_brief_sound_misheard_as_words_is_still_a_backchannel_unless_it_says_stop() -> None:
    p = BargeInPolicy(brief_ms=600)
    feed(p, "##########....", 0)  # 200 ms
    p.turn_committed("a", 500)
    assert p.verdict("a", "Oh, hi.") == (False, BargeAction.RESUME)  # "uh-huh", as whisper may hear it
    p.tick(2000, bot_active=True)
    feed(p, "##########....", 3000)
    p.turn_committed("b", 3500)
    assert p.verdict("b", "No.") == (True, BargeAction.INTERRUPT)
    p.tick(4000, bot_active=False)
    feed(p, "#" * 35 + "....", 5000)  # 700 ms: long enough to mean something
    p.turn_committed("c", 6000)
    assert p.verdict("c", "Billing question.") == (True, BargeAction.INTERRUPT)


def test_strong_speech_pauses_after_two_frames_weak_after_three() -> None:
    p = BargeInPolicy(start_ms=60, fast_ms=40)
    assert frame(p, True, True, 0, strong=True) is None
    assert frame(p, True, True, 20, strong=True) is BargeAction.PAUSE  # plainly the caller: 40 ms
    q = BargeInPolicy(start_ms=60, fast_ms=40)
    assert frame(q, True, True, 0) is None and frame(q, True, True, 20) is None  # near the echo's level
    assert frame(q, True, True, 40) is BargeAction.PAUSE
