"""The barge-in modes that hear the caller through the engine's speech events (pure timelines, ms)."""

from __future__ import annotations

from bot.edge.barge import EngineOwned, EngineVad, Turn, Verdict
from bot.turn_policies.barge_in import BargeAction


def test_engine_vad_holds_the_bot_for_a_backchannel_then_lets_it_go_on() -> None:
    vad = EngineVad()
    assert vad.tick(0, bot_active=True) is None
    assert vad.speech(True, bot_active=True, now=1000) is BargeAction.PAUSE  # speech_started over the bot
    assert vad.speech(False, bot_active=True, now=1300) is None
    assert vad.committed("item_c1", bot_active=True, now=1400) is Turn.HOLD  # its words decide
    assert vad.verdict("item_c1", "Mm-hmm.", reply_left_ms=None) == Verdict(False, BargeAction.RESUME)


def test_engine_vad_words_over_the_bot_interrupt_and_are_answered() -> None:
    vad = EngineVad()
    vad.tick(0, bot_active=True)
    assert vad.speech(True, bot_active=True, now=1000) is BargeAction.PAUSE
    vad.speech(False, bot_active=True, now=1900)
    assert vad.committed("item_c1", bot_active=True, now=2000) is Turn.HOLD
    assert vad.verdict("item_c1", "Hang on, that's the wrong address.", reply_left_ms=None) == Verdict(
        True, BargeAction.INTERRUPT
    )
    assert vad.committed("item_c2", bot_active=False, now=6000) is Turn.REPLY  # a turn with nobody talking over


def test_engine_owned_stops_the_playout_and_leaves_replies_to_the_engine() -> None:
    owned = EngineOwned()
    assert owned.speech(True, bot_active=True, now=1000) is BargeAction.INTERRUPT
    assert owned.committed("item_c1", bot_active=False, now=2000) is Turn.ENGINE
    assert owned.verdict("item_c1", "What are your opening hours?", reply_left_ms=None) is None
