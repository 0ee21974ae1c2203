"""Arguments read by schema: numbers, money, dates and times as callers say them (pure functions)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.engine.brain import acts, slots, when
from bot.engine.brain.base import ToolSpec
from bot.engine.brain.numbers import normalise

TODAY = dt.date(2026, 11, 25)  # a Wednesday


def tool(props: dict[str, dict[str, Any]], required: tuple[str, ...] = ()) -> ToolSpec:
    return ToolSpec("t", "", {"type": "object", "properties": props, "required": list(required)})


@pytest.mark.parametrize(
    ("said", "numerals"),
    [("seven oh one", "7 0 1"), ("double two three", "2 2 3"), ("triple nine", "9 9 9"),
     ("a hundred and twelve", "112"), ("two thousand and six", "2006"), ("forty-four", "44"),
     ("sixty five fifty", "65 50"), ("the twenty second", "the 22nd"), ("oh, okay", "oh, okay"),
     ("just a second", "just a second")],
)  # fmt: skip
def test_spoken_numbers_become_numerals(said: str, numerals: str) -> None:
    assert normalise(said) == numerals


@pytest.mark.parametrize(
    ("said", "digits"),
    [("order 4 5 7 2 1", "45721"), ("it's for 5-7-2-1", "45721"), ("eight one two two oh", "81220"),
     ("4, 5, 7, 2, 1", "45721"), ("number 45721 please", "45721"), ("double five one two nine", "55129")],
)  # fmt: skip
def test_digit_runs_as_asr_writes_them(said: str, digits: str) -> None:
    assert slots.read(tool({"order_id": {"type": "string"}}, ("order_id",)), said, TODAY) == {"order_id": digits}


@pytest.mark.parametrize(
    ("said", "amount"),
    [("pay twelve dollars and five cents", 12.05), ("my order is 4 5 7 2 1", None), ("pay eighty eight fifty", 88.5),
     ("a hundred and forty dollars", 140.0), ("seventy five cents", 0.75), ("$1,250", 1250.0)],
)  # fmt: skip
def test_amounts_need_money_words_or_a_payment_verb(said: str, amount: float | None) -> None:
    got = slots.read(tool({"amount": {"type": "number"}}, ("amount",)), said, TODAY)
    assert got.get("amount") == amount


def test_a_bare_number_is_an_amount_only_when_asked() -> None:
    pay = tool({"amount": {"type": "number"}}, ("amount",))
    assert slots.read(pay, "thirty one twenty", TODAY) == {}
    assert slots.read(pay, "thirty one twenty", TODAY, asked="amount") == {"amount": 31.2}


@pytest.mark.parametrize(
    ("said", "date"),
    [("tomorrow", "2026-11-26"), ("yesterday", "2026-11-24"), ("on Monday", "2026-11-30"),
     ("next Wednesday", "2026-12-02"), ("this Friday", "2026-11-27"), ("the 3rd", "2026-12-03"),
     ("the twenty eighth", "2026-11-28"), ("December 3rd", "2026-12-03"), ("the 2nd of January", "2027-01-02"),
     ("in two days", "2026-11-27"), ("June the 9th, 1971", "1971-06-09"), ("12/24", "2026-12-24")],
)  # fmt: skip
def test_dates(said: str, date: str) -> None:
    found = when.date(normalise(said), TODAY)
    assert found is not None and found[1] == date


@pytest.mark.parametrize(
    ("said", "time"),
    [("half past two", "14:30"), ("quarter to five", "16:45"), ("quarter past eleven", "11:15"),
     ("noon", "12:00"), ("at 9:30 a.m.", "09:30"), ("3 pm", "15:00"), ("ten in the morning", "10:00"),
     ("around four", "16:00"), ("14:45", "14:45"), ("eight in the evening", "20:00")],
)  # fmt: skip
def test_times(said: str, time: str) -> None:
    found = when.time_of_day(normalise(said))
    assert found is not None and found[1] == time


def test_one_span_feeds_one_parameter_and_only_with_evidence() -> None:
    verify = tool({"zip_code": {"type": "string"}, "date_of_birth": {"type": "string"},
                   "account_id": {"type": "string"}})  # fmt: skip
    assert slots.read(verify, "I was born March 14th 1990", TODAY) == {"date_of_birth": "1990-03-14"}
    assert slots.read(verify, "zip is 1 0 0 0 1", TODAY) == {"zip_code": "10001"}
    pay = tool({"account_number": {"type": "string", "description": "8-digit account number"},
                "amount": {"type": "number"}}, ("account_number", "amount"))  # fmt: skip
    assert slots.read(pay, "pay 40 dollars on 1 2 3 4 5 6 7 8", TODAY) == {"account_number": "12345678", "amount": 40.0}


def test_codes_enums_booleans_and_counts() -> None:
    booking = tool({"code": {"type": "string", "description": "6-character booking reference"},
                    "seat": {"type": "string", "enum": ["window", "aisle"]},
                    "bags": {"type": "integer", "minimum": 1, "maximum": 3}}, ("code",))  # fmt: skip
    got = slots.read(booking, "Booking X 4 K 9 Q 2, two bags and a window seat please", TODAY)
    assert got == {"code": "X4K9Q2", "seat": "window", "bags": 2}
    assert slots.read(booking, "I'd like nine bags", TODAY) == {}  # over the schema's maximum
    toggle = tool({"enabled": {"type": "boolean"}}, ("enabled",))
    assert slots.read(toggle, "please switch them off", TODAY) == {"enabled": False}
    assert slots.read(toggle, "yes turn it on", TODAY) == {"enabled": True}


@pytest.mark.parametrize(
    ("said", "expected"),
    [("yep, go for it", {"yes"}), ("nah, hold off", {"no"}), ("no problem, go ahead", {"yes"}),
     ("sorry, what was that?", {"repeat"}), ("what else can you help with", {"help"}),
     ("nope that's everything, thanks", {"no", "done", "thanks"}), ("hiya", {"greeting"})],
)  # fmt: skip
def test_dialog_acts(said: str, expected: set[str]) -> None:
    assert expected <= acts.acts(said), acts.acts(said)


@pytest.mark.parametrize(
    "said",
    ["Yeah I want to pay with my card, it's 4,111,111,111,111,111,111.",
     "pay it with four one one one one one one one one one one one one one one one",
     "Can I pay, um, my card number is 5500 0000 0000 0004"],
)  # fmt: skip
def test_a_card_number_is_never_an_amount(said: str) -> None:
    pay = tool({"amount": {"type": "number"}, "note": {"type": "string"}}, ("amount",))
    got = slots.read(pay, said, TODAY, asked="amount")
    assert "amount" not in got
    assert not any(ch.isdigit() and len(str(v)) > 8 for v in got.values() for ch in str(v))


def test_a_security_code_is_not_a_zip_code_but_a_card_parameter_takes_its_card() -> None:
    verify = tool({"zip_code": {"type": "string"}}, ("zip_code",))
    assert slots.read(verify, "Uh, the security code is 4 8 1.", TODAY, asked="zip_code") == {}
    assert slots.read(verify, "It's 9 0 2 1 0.", TODAY, asked="zip_code") == {"zip_code": "90210"}
    charge = tool({"card_number": {"type": "string"}, "amount": {"type": "number"}}, ("card_number", "amount"))
    got = slots.read(charge, "pay $20 with 4111 1111 1111 1111", TODAY)
    assert got == {"card_number": "4111111111111111", "amount": 20.0}
