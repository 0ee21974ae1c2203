"""Voice Live's turn detection fields on our engine: the 2026 semantic types, speech_duration_ms,
remove_filler_words, end_of_utterance_detection; auto_truncate refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine.fillers import without_fillers
from bot.engine.turns import SpeechStarted, detector_for
from bot.realtime.client_events import ProtocolError
from bot.realtime.dialect import Dialect
from bot.realtime.session_config import SessionConfig


def turn_detection(**fields: Any) -> Any:
    return SessionConfig().updated({"turn_detection": fields}, Dialect.BETA).turn_detection


def test_the_multilingual_semantic_type_with_its_options_is_taken_and_echoed() -> None:
    td = turn_detection(type="azure_semantic_vad_multilingual", speech_duration_ms=200, remove_filler_words=True,
                        end_of_utterance_detection={"model": "semantic_detection_v1_multilingual",
                                                    "threshold_level": "low", "timeout_ms": 1800})  # fmt: skip
    assert td.semantic and td.remove_filler_words and td.hold_cap_ms == 1800
    assert td.eagerness == "low"  # (the threshold level, where no eagerness was given)
    wire = td.to_wire()
    assert wire["type"] == "azure_semantic_vad_multilingual" and wire["speech_duration_ms"] == 200
    assert wire["end_of_utterance_detection"]["timeout_ms"] == 1800


def test_end_of_utterance_detection_makes_server_vad_semantic() -> None:
    td = turn_detection(type="server_vad", end_of_utterance_detection={"model": "semantic_detection_v1"})
    assert td.semantic and td.eagerness == "auto"
    _, turns = detector_for(td)
    assert turns.hold_cap_ms == 1000 and turns.speculate_ms == 120


def test_speech_duration_sets_how_much_speech_starts_a_turn() -> None:
    _, short = detector_for(turn_detection(type="server_vad"))
    _, long = detector_for(turn_detection(type="server_vad", speech_duration_ms=200))  # 10 frames
    for detector, frames in ((short, 3), (long, 10)):
        events = [e for n in range(frames) for e in detector.feed(True, n * 20)]
        assert any(isinstance(e, SpeechStarted) for e in events), frames
    _, long = detector_for(turn_detection(type="server_vad", speech_duration_ms=200))
    assert not any(isinstance(e, SpeechStarted) for n in range(6) for e in long.feed(True, n * 20))  # a cough


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"type": "azure_semantic_vad", "auto_truncate": True}, "session.turn_detection.auto_truncate"),
        ({"end_of_utterance_detection": {"model": "gpt-eou"}}, "session.turn_detection.end_of_utterance_detection.model"),
        ({"end_of_utterance_detection": {"timeout_ms": -5}}, "session.turn_detection.end_of_utterance_detection.timeout_ms"),
        ({"end_of_utterance_detection": {"threshold_level": "max"}},
         "session.turn_detection.end_of_utterance_detection.threshold_level"),
    ],
)  # fmt: skip
def test_what_the_engine_does_not_do_is_refused_by_name(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        turn_detection(**fields)
    assert refused.value.param == param


@pytest.mark.parametrize(
    ("heard", "kept"),
    [
        ("Um, so, uh, I need to, er, move my appointment.", "So I need to move my appointment."),
        ("My number is, uh, 4 5 7.", "My number is 4 5 7."),
        ("Uh-huh.", "Uh-huh."),  # a backchannel is a word
        ("Hmm. Yes please.", "Yes please."),
        ("I'm an umpire, erm, really.", "I'm an umpire really."),
    ],
)
def test_fillers_leave_the_transcript(heard: str, kept: str) -> None:
    assert without_fillers(heard) == kept
