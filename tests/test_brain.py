"""The offline brain on dialog transcripts (real MiniLM embeddings, no audio)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from bot.engine.brain import slots
from bot.engine.brain.base import BrainOutput, DialogRequest, ToolCall, ToolSpec, Turn
from bot.engine.brain.embed import SentenceEncoder
from bot.engine.brain.local import LocalBrain, speak_tool_result

TODAY = dt.date(2026, 11, 25)  # a Wednesday


def tool(name: str, description: str, props: dict[str, dict[str, Any]], required: list[str]) -> ToolSpec:
    return ToolSpec(name, description, {"type": "object", "properties": props, "required": required})


TOOLS = (
    tool("get_order_status", "Look up an order. Examples: where is my order; track my package",
         {"order_id": {"type": "string", "description": "The order number"}}, ["order_id"]),
    tool("pay_bill", "Pay an invoice. Examples: I want to pay my bill; make a payment",
         {"invoice_id": {"type": "string", "description": "The invoice number"},
          "amount": {"type": "number", "description": "The amount to pay"}}, ["invoice_id", "amount"]),
    tool("book_appointment", "Book an appointment. Examples: I need an appointment; schedule a visit",
         {"date": {"type": "string", "format": "date"}, "time": {"type": "string"}}, ["date", "time"]),
    tool("transfer_to_agent", "Transfer the caller to a human. Examples: talk to a person; an agent please",
         {"reason": {"type": "string"}}, []),
)  # fmt: skip
INSTRUCTIONS = "You are Acme's assistant. Be brief.\nOur opening hours are Monday to Friday, 8 am to 6 pm."


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


class Dialog:
    def __init__(self, encoder: SentenceEncoder, tool_choice: str = "auto") -> None:
        async def embed(texts: list[str]) -> np.ndarray:
            return encoder.encode(texts)

        self.brain = LocalBrain(embed, today=lambda: TODAY)
        self.history: list[Turn] = []
        self.tool_choice = tool_choice

    async def say(self, text: str, role: str = "user") -> BrainOutput:
        self.history.append(Turn(role, text))  # type: ignore[arg-type]
        request = DialogRequest(INSTRUCTIONS, tuple(self.history), TOOLS, self.tool_choice)
        outs = [o async for o in self.brain.respond(request)]
        assert len(outs) == 1
        if isinstance(outs[0], str):
            self.history.append(Turn("assistant", outs[0]))
        return outs[0]


def test_encoder_ranks_paraphrases_above_unrelated(encoder: SentenceEncoder) -> None:
    v = encoder.encode(["where is my order", "track my package", "what time do you open"])
    assert v.shape == (3, 384) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.1


async def test_order_with_digits_calls_tool_at_once(encoder: SentenceEncoder) -> None:
    out = await Dialog(encoder).say("Where's my order 4 5 7 2 1?")
    assert out == ToolCall("get_order_status", {"order_id": "45721"})


async def test_missing_argument_is_asked_for_then_used(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder)
    ask = await d.say("Can you track my package?")
    assert isinstance(ask, str) and "order number" in ask
    assert await d.say("It's for 5-7-2-1.") == ToolCall("get_order_status", {"order_id": "45721"})


async def test_payment_is_confirmed_before_the_call(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder)
    assert "invoice number" in str(await d.say("I want to pay my bill"))
    assert "amount" in str(await d.say("invoice 9 9 1 2"))
    confirm = await d.say("42.50")
    assert isinstance(confirm, str) and "$42.50" in confirm and "go ahead" in confirm
    assert await d.say("Yes please") == ToolCall("pay_bill", {"invoice_id": "9912", "amount": 42.5})


async def test_payment_declined_is_not_made(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder)
    await d.say("I want to pay $20 on invoice 7 7 1 2")
    out = await d.say("No, don't.")
    assert isinstance(out, str) and "won't" in out


async def test_dates_and_times_are_read(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder)
    confirm = await d.say("I need an appointment on Friday at 3 pm")
    assert isinstance(confirm, str) and "2026-11-27" in confirm and "15:00" in confirm
    assert await d.say("yes") == ToolCall("book_appointment", {"date": "2026-11-27", "time": "15:00"})


async def test_fact_from_instructions_and_fallback(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder)
    assert "8 am to 6 pm" in str(await d.say("When are you open?"))
    assert "didn't quite get that" in str(await d.say("purple elephants sing"))


async def test_tool_choice_none_never_calls(encoder: SentenceEncoder) -> None:
    out = await Dialog(encoder, tool_choice="none").say("Where's my order 4 5 7 2 1?")
    assert isinstance(out, str)


async def test_tool_result_is_spoken(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder)
    d.history.append(Turn("tool_result", '{"status": "shipped", "eta": "Friday"}'))
    request = DialogRequest(INSTRUCTIONS, tuple(d.history), TOOLS)
    said = [o async for o in d.brain.respond(request)]
    assert said and "shipped" in str(said[0]) and "Friday" in str(said[0])


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('{"message": "Your order ships Friday."}', ("Your order ships Friday.", True)),
        ('{"error": "billing is down"}', ("Sorry, I couldn't complete that: billing is down.", False)),
        ('{"order_id": "45721", "status": "shipped"}', ("Here is what I found: the order id is 4 5 7 2 1, the status is shipped.", False)),
        ("plain words", ("plain words", False)),
    ],
)  # fmt: skip
def test_speak_tool_result(output: str, expected: tuple[str, bool]) -> None:
    assert speak_tool_result(output) == expected


@pytest.mark.parametrize(
    ("text", "digits"),
    [("order 4 5 7 2 1", "45721"), ("for 5-7-2-1", "45721"), ("four five seven two one", "45721"),
     ("4, 5, 7, 2, 1", "45721"), ("number 45721 please", "45721")],
)  # fmt: skip
def test_digit_runs_as_asr_writes_them(text: str, digits: str) -> None:
    assert slots.extract("order_id", {"type": "string"}, text, [], TODAY) == digits


def test_money_and_ids_do_not_share_digits() -> None:
    taken: list[slots.Span] = []
    text = "I'd like to pay $42.50 on invoice 9 9 1 2"
    assert slots.extract("amount", {"type": "number"}, text, taken, TODAY) == 42.5
    assert slots.extract("invoice_id", {"type": "string"}, text, taken, TODAY) == "9912"


def test_amount_without_money_words_only_when_asked() -> None:
    assert slots.extract("amount", {"type": "number"}, "order 45721", [], TODAY) is None
    assert slots.extract("amount", {"type": "number"}, "42.50", [], TODAY, asked=True) == 42.5


@pytest.mark.parametrize(
    ("text", "date"),
    [("tomorrow", "2026-11-26"), ("on Monday", "2026-11-30"), ("December 3rd", "2026-12-03"),
     ("the 2nd of January", "2027-01-02"), ("2027-02-01", "2027-02-01")],
)  # fmt: skip
def test_dates(text: str, date: str) -> None:
    assert slots.date(text, TODAY) == date


def test_times_and_names() -> None:
    assert slots.time_of_day("at 9:30 a.m.") == "09:30"
    assert slots.time_of_day("3 pm") == "15:00"
    assert slots.time_of_day("14:45") == "14:45"
    assert slots.person_name("Hi, my name is Jane Doe") == "Jane Doe"


def test_vectorised_erf_matches_math_erf() -> None:
    import math

    from bot.engine.brain.embed import _erf

    xs = np.linspace(-6, 6, 2001, dtype=np.float32)
    # 1.5e-7 from the approximation, the rest float32 rounding: far below what moves an embedding
    assert np.max(np.abs(_erf(xs) - np.array([math.erf(float(x)) for x in xs]))) < 5e-7


async def test_prepare_builds_the_index_once_and_the_first_turn_reuses_it(encoder: SentenceEncoder) -> None:
    embedded: list[list[str]] = []

    async def embed(texts: list[str]) -> np.ndarray:
        embedded.append(texts)
        return encoder.encode(texts)

    brain = LocalBrain(embed, today=lambda: TODAY)
    likely = await brain.prepare(INSTRUCTIONS, TOOLS)
    assert "Our opening hours are Monday to Friday, 8 am to 6 pm." in likely  # a fact answer, said verbatim
    assert any(line.startswith("Sorry, I didn't quite get that.") for line in likely)
    assert "Sure. Could you tell me the order number?" in likely  # the real ask line, for each tool
    confirms = [line for line in likely if line.startswith("Just to confirm:")]
    assert confirms and all("get order status" not in c for c in confirms)  # only tools that change things
    assert len(embedded) == 1 and len(embedded[0]) > 4  # facts and tool phrasings
    request = DialogRequest(INSTRUCTIONS, (Turn("user", "When are you open?"),), TOOLS, "auto")
    outs = [o async for o in brain.respond(request)]
    assert "8 am to 6 pm" in str(outs[0])
    assert embedded[1:] == [["When are you open?"]]  # only the caller's words were embedded
