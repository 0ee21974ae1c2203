"""Speech recognition on phone audio: the short encoder window, its repeat handling, long turns."""

from __future__ import annotations

import pytest

from bot.engine.asr import Decoded, drop_repeats, window_for
from tests.audio import CALLER_SENTENCES, phone_pcm, transcriber


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("Can I return something I bought? Can I return something I bought?", "Can I return something I bought?"),
        ("Thank you very much. Thank you very", "Thank you very much."),
        ("Yeah. Yeah. Yeah. Yeah.", "Yeah."),
        ("Hi. How are you? Hi. How are you? Hi.", "Hi. How are you?"),
        ("Hello. Hello there.", "Hello. Hello there."),  # not a repeat: more words follow
        ("My order is 4 5. 4 5 7.", "My order is 4 5. 4 5 7."),
        ("Yes. No.", "Yes. No."),
        ("One two three", "One two three"),
        ("4. 4. 4. 4.", "4. 4. 4. 4."),  # an account number read slowly
        ("Account 7. Account 7.", "Account 7. Account 7."),
    ],
)
def test_drop_repeats_only_drops_word_for_word_repeats_after_a_sentence_end(raw: str, kept: str) -> None:
    assert drop_repeats(raw) == kept


def test_window_is_the_smallest_that_holds_the_audio_with_a_margin() -> None:
    assert window_for(2.0) == 10
    assert window_for(9.5) == 20
    assert window_for(25.0) == 30
    assert window_for(29.5) is None  # faster-whisper's own chunked path
    assert window_for(2.0, (30,)) == 30


def test_a_loop_that_is_not_a_plain_repeat_counts_as_repeating() -> None:
    loop = Decoded("and the order and the order and the order and the order", 0.0, -0.3, budget_used=True)
    repeat = Decoded("Goodbye. Goodbye. Goodbye.", 0.0, -0.2, budget_used=True)
    normal = Decoded("Where is my order?", 0.0, -0.2, budget_used=False)
    assert loop.repeating and not repeat.repeating and not normal.repeating
    assert Decoded("Mm", 0.9, -0.5, budget_used=False).silent


def test_phone_turns_come_out_right_from_the_short_window() -> None:
    asr = transcriber()
    assert (
        asr.transcribe(phone_pcm("Where is my order 4 5 7 2 1, please?", 16000))
        .lower()
        .startswith(("where is my order 4 5 7 2 1", "where's my order 4 5 7 2 1"))
    )
    assert asr.transcribe(phone_pcm("Goodbye.", 16000)).lower().rstrip(".!") == "goodbye"
    assert asr.transcribe(bytes(32000)) == ""  # a second of line silence


def test_a_turn_longer_than_any_window_is_transcribed_whole() -> None:
    sentences = [s for s in CALLER_SENTENCES if len(s.split()) >= 8]  # the long ones: over 30 s in all
    pcm = b"".join(phone_pcm(s, 16000) + bytes(32000) for s in sentences)  # each + 1 s pause
    assert len(pcm) / 32000 > 30
    heard = transcriber().transcribe(pcm).lower()
    assert "charged twice" in heard and "last invoice" in heard
