"""The offline brain on dialog transcripts (real MiniLM embeddings, no audio).

The sentences here are not the development bench's (bench/brain.py): they test the same failure
classes on other words, and one more company's tools (an insurer's) that the bench never saw.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from bot.callbacks import Callback, instructions_for
from bot.engine.brain.base import BrainOutput, DialogRequest, ToolCall, ToolSpec, Turn
from bot.engine.brain.embed import SentenceEncoder
from bot.engine.brain.local import LocalBrain
from bot.engine.brain.wording import confirm_line, result_line

TODAY = dt.date(2026, 11, 25)  # a Wednesday


def tool(name: str, description: str, props: dict[str, dict[str, Any]] | None = None,
         required: tuple[str, ...] = ()) -> ToolSpec:  # fmt: skip
    return ToolSpec(name, description, {"type": "object", "properties": props or {}, "required": list(required)})


SHOP = (
    tool("get_order_status", "Look up the status of an order.", {"order_id": {"type": "string"}}, ("order_id",)),
    tool("pay_bill", "Pay the caller's bill.", {"amount": {"type": "number"}}, ("amount",)),
    tool("get_balance", "Tell the caller their bill balance."),
    tool("book_appointment", "Book an appointment.", {"date": {"type": "string"}, "time": {"type": "string"}},
         ("date", "time")),
    tool("move_appointment", "Move the caller's appointment.", {"date": {"type": "string"}, "time": {"type": "string"}},
         ("date", "time")),
    tool("cancel_appointment", "Cancel the caller's appointment."),
    tool("verify_identity", "Verify the caller's identity with their ZIP code or date of birth.",
         {"zip_code": {"type": "string"}, "date_of_birth": {"type": "string"}, "account_id": {"type": "string"}}),
    tool("transfer_to_agent", "Transfer the caller to a human agent.", {"reason": {"type": "string"}}),
    tool("end_call", "End the call when the caller is done."),
)  # fmt: skip
SHOP_INSTRUCTIONS = "You are Acme's assistant. Be brief.\nOur opening hours are Monday to Friday, 8 am to 6 pm."
INSURER = (
    tool("file_claim", "Open a new insurance claim.",
         {"policy_number": {"type": "string", "description": "Policy number"},
          "incident_date": {"type": "string", "format": "date"},
          "claim_type": {"type": "string", "enum": ["auto", "home", "travel"]}},
         ("policy_number", "incident_date", "claim_type")),
    tool("get_claim_status", "Check the progress of an existing claim.",
         {"claim_number": {"type": "string", "description": "Claim number"}}, ("claim_number",)),
    tool("send_roadside_help", "Dispatch roadside assistance to a broken-down vehicle.",
         {"location": {"type": "string", "description": "Where the vehicle is"}}, ("location",)),
    tool("end_call", "End the call."),
)  # fmt: skip
INSURER_INSTRUCTIONS = "You are Harbor Mutual's claims line.\nClaims are usually settled within 14 days."


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


class Dialog:
    def __init__(self, encoder: SentenceEncoder, tools: tuple[ToolSpec, ...] = SHOP,
                 instructions: str = SHOP_INSTRUCTIONS, tool_choice: str = "auto") -> None:  # fmt: skip
        async def embed(texts: list[str]) -> np.ndarray:
            return encoder.encode(texts)

        self.brain = LocalBrain(embed, today=lambda: TODAY)
        self.history: list[Turn] = []
        self.tools, self.instructions, self.tool_choice = tools, instructions, tool_choice

    async def _respond(self) -> BrainOutput:
        request = DialogRequest(self.instructions, tuple(self.history), self.tools, self.tool_choice)
        outs = [o async for o in self.brain.respond(request)]
        assert len(outs) == 1
        return outs[0]

    async def say(self, text: str, result: str = '{"message": "Done."}') -> BrainOutput:
        self.history.append(Turn("user", text))
        out = await self._respond()
        if isinstance(out, ToolCall):
            self.history += [
                Turn("tool_call", name=out.name, call_id="c", arguments="{}"),
                Turn("tool_result", result, call_id="c"),
            ]
            self.history.append(Turn("assistant", str(await self._respond())))
        else:
            self.history.append(Turn("assistant", out))
        return out


async def test_one_word_and_indirect_requests(encoder: SentenceEncoder) -> None:
    assert await Dialog(encoder).say("Balance?") == ToolCall("get_balance", {})
    assert await Dialog(encoder).say("Operator.") == ToolCall("transfer_to_agent", {})
    assert await Dialog(encoder).say("Um, I've been waiting ages for parcel 7 1 1 3 0") == ToolCall(
        "get_order_status", {"order_id": "71130"}
    )


async def test_plain_third_party_tools_from_their_schemas_alone(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder, INSURER, INSURER_INSTRUCTIONS)
    assert await d.say("Any update on claim 5 5 0 2 1?") == ToolCall("get_claim_status", {"claim_number": "55021"})
    d = Dialog(encoder, INSURER, INSURER_INSTRUCTIONS)
    ask = await d.say("Someone backed into my car yesterday and I need to make a claim")
    assert d.brain.decision and d.brain.decision.param == "policy_number", ask
    assert d.brain.decision.args == {"incident_date": "2026-11-24", "claim_type": "auto"}
    confirm = await d.say("It's H M 4 4 1 9 0... sorry, the number is 4 4 1 9 0")
    assert isinstance(confirm, str) and "Tuesday, November 24th" in confirm and "_" not in confirm, confirm
    assert await d.say("yep that's it") == ToolCall(
        "file_claim", {"policy_number": "44190", "incident_date": "2026-11-24", "claim_type": "auto"}
    )
    fact = await Dialog(encoder, INSURER, INSURER_INSTRUCTIONS).say("How quickly do you normally pay out?")
    assert "14 days" in str(fact)


async def test_money_said_in_words_is_confirmed_as_an_amount(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder)
    confirm = await d.say("Can I put forty dollars and ten cents on my bill?")
    assert confirm == "Just to confirm, you'd like to pay $40.10 toward your bill?"
    assert await d.say("mm-hmm") == ToolCall("pay_bill", {"amount": 40.1})


async def test_dates_and_times_in_words(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder)
    confirm = await d.say("Could someone come round next Monday, quarter past eleven?")
    assert d.brain.decision and d.brain.decision.args == {"date": "2026-11-30", "time": "11:15"}, confirm
    assert "Monday, November 30th at 11:15 am" in str(confirm)


async def test_corrections_replace_the_value(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder)
    await d.say("I'd like to move my appointment to Thursday at 4 pm")
    again = await d.say("Hmm, actually make it Friday")
    assert d.brain.decision and d.brain.decision.args == {"date": "2026-11-27", "time": "16:00"}, again
    assert await d.say("great") == ToolCall("move_appointment", {"date": "2026-11-27", "time": "16:00"})
    d = Dialog(encoder)
    await d.say("order number 3 3 8 1 1", result='{"message": "I could not find that order."}')
    assert await d.say("Oh, no, it's 3 3 8 1 2") == ToolCall("get_order_status", {"order_id": "33812"})


async def test_close_call_asks_which_one(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder)
    ask = await d.say("I'm calling about the appointment I have with you")
    assert isinstance(ask, str) and "move" in ask and "cancel" in ask, ask
    assert await d.say("Cancel it, please.") != ToolCall("move_appointment", {})
    assert d.brain.decision and d.brain.decision.tool == "cancel_appointment"


async def test_goodbye_ends_the_call_when_end_call_is_declared(encoder: SentenceEncoder) -> None:
    assert await Dialog(encoder).say("Nope, I'm all set, cheers, bye") == ToolCall("end_call", {})
    d = Dialog(encoder)
    await d.say("thank you")
    assert await d.say("no") == ToolCall("end_call", {})
    without = Dialog(encoder, SHOP[:-1])
    assert "Goodbye" in str(await without.say("that's everything, goodbye"))


async def test_a_year_is_not_a_zip_code(encoder: SentenceEncoder) -> None:
    out = await Dialog(encoder).say("My birthday's the 9th of July, 1988")
    assert out == ToolCall("verify_identity", {"date_of_birth": "1988-07-09"})


async def test_side_question_keeps_the_request(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder)
    await d.say("I want to book an appointment")
    side = await d.say("Wait, what are your hours?")
    assert "8 am to 6 pm" in str(side) and "day" in str(side)
    assert d.brain.decision and d.brain.decision.kind == "fact"
    assert "time" in str(await d.say("Tuesday, please"))


async def test_help_repeat_and_unknown_in_plain_words(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder)
    help_ = str(await d.say("What are my options here?"))
    assert "cancel your appointment" in help_ and "_" not in help_, help_
    assert await d.say("come again?") == help_
    unknown = str(await Dialog(encoder).say("Who won the game last night?"))
    assert unknown.startswith("Sorry, I don't have an answer to that.")


async def test_tool_choice_none_never_calls(encoder: SentenceEncoder) -> None:
    out = await Dialog(encoder, tool_choice="none").say("Where's my order 4 5 7 2 1?")
    assert isinstance(out, str)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('{"message": "Your order ships Friday."}', ("Your order ships Friday.", True)),
        ('{"error": "billing is down"}', ("Sorry, I couldn't do that: billing is down.", False)),
        ('{"order_id": "45721", "status": "shipped", "delivery_date": "2026-11-27"}',
         ("Order 4 5 7 2 1 is shipped and the delivery date is Friday, November 27th.", False)),
        ('{"balance": 42.5, "due_date": "2026-12-18"}',
         ("The balance is $42.50 and the due date is Friday, December 18th.", False)),
        ('{"ready": false}', ("It's not ready.", False)),
        ("plain words", ("plain words", False)),
    ],
)  # fmt: skip
def test_results_are_said_as_sentences(output: str, expected: tuple[str, bool]) -> None:
    assert result_line(output) == expected


def test_confirmations_read_like_a_person() -> None:
    move = SHOP[4]
    assert confirm_line(move, {"date": "2026-12-02", "time": "11:00"}) == (
        "Just to confirm, you'd like to move your appointment to Wednesday, December 2nd at 11 am?"
    )
    assert confirm_line(SHOP[5], {}) == "Just to confirm, you'd like to cancel your appointment?"
    bags = tool("add_bags", "Add checked bags to a booking.",
                {"booking_code": {"type": "string", "description": "6-character booking reference"},
                 "bags": {"type": "integer", "description": "Number of bags to add"}}, ("booking_code", "bags"))  # fmt: skip
    assert confirm_line(bags, {"booking_code": "Q2W8RT", "bags": 1}) == (
        "Just to confirm, you'd like to add one checked bag to booking reference Q 2 W 8 R T?"
    )


async def test_prepare_builds_the_index_once_and_the_first_turn_reuses_it(encoder: SentenceEncoder) -> None:
    embedded: list[list[str]] = []

    async def embed(texts: list[str]) -> np.ndarray:
        embedded.append(texts)
        return encoder.encode(texts)

    brain = LocalBrain(embed, today=lambda: TODAY)
    likely = await brain.prepare(SHOP_INSTRUCTIONS, SHOP)
    assert "Our opening hours are Monday to Friday, 8 am to 6 pm." in likely  # a fact answer, said verbatim
    assert any("order id" in line or "order number" in line for line in likely)
    assert len(embedded) == 1 and len(embedded[0]) > 9  # facts and tool phrasings, in one batch
    request = DialogRequest(SHOP_INSTRUCTIONS, (Turn("user", "When are you open?"),), SHOP, "auto")
    outs = [o async for o in brain.respond(request)]
    assert "8 am to 6 pm" in str(outs[0])
    assert embedded[1:] == [["When are you open?"]]  # only the caller's words were embedded


async def test_a_request_can_be_dropped_halfway(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder)
    await d.say("Could I book a visit from an engineer?")
    assert d.brain.decision and d.brain.decision.kind == "ask"
    assert str(await d.say("eh, forget it")).startswith("Okay, I won't do that.")
    assert await d.say("what's my balance") == ToolCall("get_balance", {})  # the dropped request stays dropped


def test_stock_openings_are_what_replies_start_with() -> None:
    """The engine synthesizes STOCK_OPENINGS at start; each must be the first thing TTS is given."""
    from bot.engine.brain import local, wording
    from bot.engine.response import opening

    replies = [local._goodbye(), local._declined(0), local._unknown(SHOP), local._unknown(SHOP, question=False),
               local.NOT_HEARD, local.GREETING, f"{local.WELCOME} {wording.ANYTHING_ELSE[0]}",
               *(wording.ask_line(t, p, i) for t in SHOP for p in t.required for i in range(4)),
               *(f"{o} The balance is $4." for o in wording.RESULT_OPENERS), *wording.ANYTHING_ELSE]  # fmt: skip
    assert {opening(r) for r in replies} <= set(local.STOCK_OPENINGS)


async def test_hold_on_keeps_the_line_open(encoder: SentenceEncoder) -> None:
    d = Dialog(encoder)
    assert await d.say("Hang on one second, let me grab my card.") == "Sure, take your time."
    assert d.brain.decision and d.brain.decision.said == "wait"


async def test_a_tool_that_hands_the_call_on_is_said_as_it_worded_it(encoder: SentenceEncoder) -> None:
    """'Please hold.' is the last thing said before a transfer: no 'anything else?' after it."""
    dialog = Dialog(encoder)
    assert await dialog.say("Can I speak to a real person?", '{"message": "Let me transfer you. Please hold."}') == (
        ToolCall("transfer_to_agent", {})
    )
    assert dialog.history[-1].text == "Let me transfer you. Please hold."
    other = Dialog(encoder)
    await other.say("Balance?", '{"message": "Your balance is 20 dollars."}')
    assert other.history[-1].text.startswith("Your balance is 20 dollars. ") and "?" in other.history[-1].text


CALLBACK = tool("schedule_callback", "Book a callback (we call the caller back as soon as someone is free, or at the "
                "day and time they ask for).", {"date": {"type": "string"}, "time": {"type": "string"},
                                                "reason": {"type": "string"}})  # fmt: skip


@pytest.mark.parametrize(
    ("said", "args"),
    [
        ("Yes please, um, call me back tomorrow at ten.", {"date": "2026-11-26", "time": "10:00"}),
        ("Could somebody ring me back as soon as possible?", {}),
        ("Yeah, can you just have someone call me back this afternoon, say 3 o'clock?",
         {"date": "2026-11-25", "time": "15:00"}),
        ("Okay, yes, a callback would be great.", {}),
        ("Call me back on Friday, at half past two.", {"date": "2026-11-27", "time": "14:30"}),
    ],
)  # fmt: skip
async def test_a_callback_is_booked_for_the_time_the_caller_says(encoder: SentenceEncoder, said: str,
                                                                 args: dict[str, str]) -> None:  # fmt: skip
    dialog = Dialog(encoder, tools=(*SHOP, CALLBACK))
    asked = await dialog.say(said)
    assert isinstance(asked, str) and asked.startswith("Just to confirm, you'd like to book a callback"), asked
    assert await dialog.say("Yes, that's right.") == ToolCall("schedule_callback", args)


async def test_a_callee_picking_up_with_hello_hears_the_calls_own_greeting(encoder: SentenceEncoder) -> None:
    """On a call we place the callee speaks first: their "Hello?" gets the instructions' greeting."""
    dialog = Dialog(encoder, instructions="Greeting: Hi, this is Acme calling about your order.\n" + SHOP_INSTRUCTIONS)
    assert await dialog.say("Hello?") == "Hi, this is Acme calling about your order."
    assert await dialog.say("Hello? Who is this?") != "Hi, this is Acme calling about your order."  # only once


async def test_a_reply_cancelled_before_its_first_word_does_not_count_as_the_greeting(encoder: SentenceEncoder) -> None:
    """The edge asked for a reply as the callee's "Hello?" ended and the engine's turn came after it: the
    first reply was cancelled with nothing said (an empty assistant item), and the greeting is still due."""
    dialog = Dialog(encoder, instructions="Greeting: Hi, this is Acme calling about your order.\n" + SHOP_INSTRUCTIONS)
    dialog.history.append(Turn("assistant", ""))
    assert await dialog.say("Hello?") == "Hi, this is Acme calling about your order."


async def test_a_greeting_cut_after_its_first_word_is_said_again_in_full(encoder: SentenceEncoder) -> None:
    """The callee's "Hello?" cut the greeting after "Hi," (the item truncated to what was heard): it is due
    again; a reply that was not the greeting counts as said."""
    greeted = "Greeting: Hi, this is Acme calling about your order.\n" + SHOP_INSTRUCTIONS
    dialog = Dialog(encoder, instructions=greeted)
    dialog.history.append(Turn("assistant", "Hi,"))
    assert await dialog.say("Hello?") == "Hi, this is Acme calling about your order."
    other = Dialog(encoder, instructions=greeted)
    other.history.append(Turn("assistant", "Sorry, one moment"))
    assert await other.say("Hello?") != "Hi, this is Acme calling about your order."


async def test_what_the_instructions_tell_about_the_call_is_not_read_out_as_an_answer(encoder: SentenceEncoder) -> None:
    """A callback's instructions say what the caller said on their first call, for the assistant: thanking
    the bot for the callback gets a welcome, not the caller's own old words read back as a fact."""
    back = Callback("+15550142", 0.0, "first", said="I'd like to speak with someone, please. / Yes please, call "
                    "me back as soon as you can.")  # fmt: skip
    dialog = Dialog(encoder, tools=SHOP, instructions=instructions_for(back, SHOP_INSTRUCTIONS))
    reply = await dialog.say("Oh, great, thanks for calling me back.")
    assert isinstance(reply, str) and "as soon as you can" not in reply and "speak with someone" not in reply, reply


async def test_the_instructions_own_answer_comes_before_the_general_look_up(encoder: SentenceEncoder) -> None:
    """A call's instructions state a fact; a question it answers is answered from it, not sent to the
    knowledge base tool (which knows the business in general, not this call)."""
    lookup = tool("answer_question", "Answer a general question about the company from the knowledge base.",
                  {"question": {"type": "string"}}, ("question",))  # fmt: skip
    visit = ("Greeting: Hi, this is Acme calling about your technician visit tomorrow.\n"
             "The technician arrives between 10 am and noon and the visit takes about an hour.")  # fmt: skip
    for asked in ("How long will it take?", "Okay, and roughly how long is the visit?"):
        reply = await Dialog(encoder, tools=(*SHOP, lookup), instructions=visit).say(asked)
        assert isinstance(reply, str) and "about an hour" in reply, (asked, reply)


KEYPAD = tool("press_keys", "Press keys on the phone keypad (send DTMF tones), e.g. to reach an extension or an option "
              "in another phone system's menu.", {"digits": {"type": "string"}}, ("digits",))  # fmt: skip


@pytest.mark.parametrize(
    ("heard", "goal", "key"),
    [
        ("Thank you for calling Globex. For sales, press one. For billing, press two. For technical support, "
         "press three.", "reach the billing department to ask about invoice 4471", "2"),
        ("Press 1 for new orders. Press 2 for an existing order or a return. Press 0 to speak to an operator.",
         "ask where our order of toner cartridges is, order 5520", "2"),
        ("If you're calling about a prescription refill, press 1. If you are a doctor's office, press 2. "
         "For store hours, press 3.", "find out the store's opening hours on Saturday", "3"),
        ("Para español, oprima nueve. For account questions press 4, or to speak with a representative, press 0.",
         "cancel our subscription", "0"),  # nothing fits: the operator
        # As whisper wrote the Globex menu off a phone line: its sentence breaks one option late.
        ("Thank you for calling Globics. Please listen carefully. As our options have changed. For sales, press 1 "
         "for billing and then voices. Press 2 for technical support. Press 3.",
         "reach billing to ask about invoice 4471", "2"),
    ],
)  # fmt: skip
async def test_another_phone_systems_menu_is_answered_with_the_key_for_the_goal(encoder: SentenceEncoder, heard: str,
                                                                                goal: str, key: str) -> None:  # fmt: skip
    dialog = Dialog(encoder, tools=(*SHOP, KEYPAD), instructions=f"You are calling Globex for Acme.\nGoal: {goal}.")
    assert await dialog.say(heard) == ToolCall("press_keys", {"digits": key})


async def test_a_phone_systems_greeting_said_as_a_turn_of_its_own_waits_for_the_options(
    encoder: SentenceEncoder,
) -> None:
    """The recogniser ended "Thank you for calling Globics." as a turn before the menu: no goodbye to it
    (the call was ended there once), silence, and the key when the options come."""
    dialog = Dialog(encoder, tools=(*SHOP, KEYPAD),
                    instructions="You are calling Globex for Acme.\nGoal: reach billing to ask about invoice 4471.")  # fmt: skip
    assert await dialog.say("Thank you for calling Globics.") == ""
    assert await dialog.say("Please listen carefully, as our options have changed.") == ""
    heard = "For sales, press one. For billing and invoices, press two. For technical support, press three."
    assert await dialog.say(heard) == ToolCall("press_keys", {"digits": "2"})


async def test_with_a_goal_a_turn_that_is_no_menu_is_answered_as_usual(encoder: SentenceEncoder) -> None:
    dialog = Dialog(encoder, tools=(*SHOP, KEYPAD), instructions="Goal: reach billing.\n" + SHOP_INSTRUCTIONS)
    reply = await dialog.say("What are your opening hours?")
    assert isinstance(reply, str) and "8 am to 6 pm" in reply, reply


async def test_a_card_read_out_goes_to_the_card_tool_and_is_never_read_back(encoder: SentenceEncoder) -> None:
    card = tool("pay_with_card", "Pay by card. Takes the card number the caller reads out and the security code.",
                {"card_number": {"type": "string"}, "security_code": {"type": "string"}},
                ("card_number", "security_code"))  # fmt: skip
    d = Dialog(encoder, (*SHOP, card))
    ask = await d.say("Okay, um, it's 4111 1111 1111 1111")  # a card said alone: nowhere else it may go
    assert d.brain.decision and d.brain.decision.param == "security_code", ask
    confirm = await d.say("the code on the back is 7 3 9")
    assert "card ending 1 1 1 1" in str(confirm) and "4 1 1 1" not in str(confirm) and "7 3 9" not in str(confirm)
    assert await d.say("yes") == ToolCall("pay_with_card", {"card_number": "4111111111111111", "security_code": "739"})


async def test_a_card_number_misheard_is_asked_again_before_anything_is_confirmed(encoder: SentenceEncoder) -> None:
    """Whisper lost a group of the card ("4,111,111,111,111": 13 digits, failing the Luhn check every card
    passes): the bot asks for the card again at once, keeping the security code, instead of confirming a
    card that cannot be one; the number read again goes on to the confirmation."""
    card = tool("pay_with_card", "Pay by card. Takes the card number the caller reads out and the security code.",
                {"card_number": {"type": "string"}, "security_code": {"type": "string"}},
                ("card_number", "security_code"))  # fmt: skip
    d = Dialog(encoder, (*SHOP, card))
    again = await d.say("Okay, the card number is 4,111,111,111,111 and the security code of 737.")
    assert isinstance(again, str) and "card number" in again and "again" in again, again
    confirm = await d.say("Sure, it's 4111 1111 1111 1111.")
    assert "card ending 1 1 1 1" in str(confirm), confirm
    assert await d.say("Yes.") == ToolCall("pay_with_card", {"card_number": "4111111111111111", "security_code": "737"})
