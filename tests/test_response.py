"""How a reply's text is cut for speech: the first audio comes from a short first clause."""

from __future__ import annotations

import pytest

from bot.engine.response import first_clause


@pytest.mark.parametrize(
    ("sentence", "parts"),
    [
        ("From our returns page: Returns are accepted within 30 days with the receipt.",
         ["From our returns page:", "Returns are accepted within 30 days with the receipt."]),
        ("Our opening hours are Monday to Friday, from 8 am to 6 pm.",
         ["Our opening hours are Monday to Friday,", "from 8 am to 6 pm."]),
        ("Sorry, I didn't quite get that.", ["Sorry, I didn't quite get that."]),  # short: whole
        ("Yes, that is booked for you on Tuesday at ten.", ["Yes, that is booked for you on Tuesday at ten."]),
        ("Your order has shipped and should arrive on Friday.", ["Your order has shipped and should arrive on Friday."]),
    ],
)  # fmt: skip
def test_a_long_sentence_is_said_clause_first(sentence: str, parts: list[str]) -> None:
    assert first_clause(sentence) == parts
