from __future__ import annotations

import pytest

from bot.turn_policies.end_of_turn import BASE_MS, UNFINISHED_MS, required_silence_ms


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        (None, BASE_MS["auto"]),
        ("What are your opening hours, please?", BASE_MS["auto"]),
        ("Yes.", BASE_MS["auto"]),
        ("My order number is 4 5 7.", UNFINISHED_MS),
        ("My order number is 4-5-7", UNFINISHED_MS),
        ("I want to check my balance and", UNFINISHED_MS),
        ("It's, um", UNFINISHED_MS),
        ("Where is order 45721?", BASE_MS["auto"]),  # a question that ends in digits is finished
        ("I would like to", UNFINISHED_MS),
    ],
)
def test_required_silence(said: str | None, expected: int) -> None:
    assert required_silence_ms(said) == expected


def test_eagerness_sets_the_base() -> None:
    assert required_silence_ms("Thanks.", "high") < required_silence_ms("Thanks.", "low")
