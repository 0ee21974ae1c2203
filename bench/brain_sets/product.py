"""The product's own tools (flows/) and instructions, as the SIP edge declares them."""

from __future__ import annotations

from typing import Any, cast

from bench.brain_sets.cases import ANY, OPTIONAL, Step, ToolSet, ask, call, clarify, confirm, one, say
from flows.contact_center import build_registry, instructions

FOUND = '{"message": "Your order 8 1 2 2 0 is shipped, with delivery expected Friday by UPS."}'
NOT_FOUND = (
    '{"message": "I couldn\'t find an order with the number 4 5 7 2 1. Could you check the number and say it again?"}'
)
KB_PAYMENT = '{"message": "From our payment methods page: We accept credit cards, debit cards and bank transfers.", "source": "Payment methods"}'
BALANCE = '{"message": "Your balance is $42.50, due December 1."}'


def _dialogs() -> list[list[Step]]:
    return [
        # orders
        one("I'm chasing order 8 1 2 2 0, any news?", call("get_order_status", order_id="81220"), FOUND),
        one(
            "Hi, um, I ordered a router last week and it still hasn't turned up. The order number is 5 5 3 1 9.",
            call("get_order_status", order_id="55319"),
        ),
        one("Where's my stuff? Order four five seven two one.", call("get_order_status", order_id="45721")),
        one("Has my package shipped yet?", ask("order_id")),
        one("Yeah hi, I'm just wondering when my delivery is gonna arrive", ask("order_id")),
        [
            Step("Can you check on an order for me?", ask("order_id")),
            Step("Sure, it's 4 5 7 2 1.", call("get_order_status", order_id="45721"), NOT_FOUND),
            Step("Oh sorry, no, it's 4 5 7 2 2.", call("get_order_status", order_id="45722"), FOUND),
        ],
        # billing
        one("What's my bill looking like?", call("get_balance")),
        one("How much do I owe you guys this month?", call("get_balance")),
        one("Can you tell me what my balance is at the moment?", call("get_balance"), BALANCE),
        one("I want to pay thirty dollars and twenty five cents", confirm("pay_bill", amount=30.25)),
        one("Pay fifteen fifty please", confirm("pay_bill", amount=15.5)),
        one("I'd like to make a payment of a hundred and twelve dollars.", confirm("pay_bill", amount=112)),
        one("yeah I wanna settle my bill", ask("amount")),
        [
            Step("I want to pay my bill.", ask("amount")),
            Step("Um, forty two fifty.", confirm("pay_bill", amount=42.5)),
            Step("Yes please.", call("pay_bill", amount=42.5)),
        ],
        [
            Step("I'd like to pay 20 dollars.", confirm("pay_bill", amount=20)),
            Step("No wait, make it 25.", confirm("pay_bill", amount=25)),
            Step("Yeah, that's right.", call("pay_bill", amount=25)),
        ],
        [
            Step("I'd like to pay my bill.", ask("amount")),
            Step("Hang on, what payment methods do you take?", call("answer_question", question=ANY), KB_PAYMENT),
            Step("Okay, 60 dollars then.", confirm("pay_bill", amount=60)),
            Step("Go ahead.", call("pay_bill", amount=60)),
        ],
        [
            Step("I'd like to pay $35 toward my bill.", confirm("pay_bill", amount=35)),
            Step("Actually no, don't do that.", say("declined")),
        ],
        # identity
        one("I was born on May 3rd 1979", call("verify_identity", date_of_birth="1979-05-03")),
        one("My zip is nine four one oh seven.", call("verify_identity", zip_code="94107")),
        one("Uh, date of birth is the twelfth of April, 1985.", call("verify_identity", date_of_birth="1985-04-12")),
        # appointments
        one("I won't make it to my appointment, please drop it", confirm("cancel_appointment")),
        one("Something came up and I have to cancel the technician visit.", confirm("cancel_appointment")),
        one(
            "Could we push my appointment to Thursday at half past two?",
            confirm("move_appointment", date="2026-12-03", time="14:30"),
        ),
        one(
            "I need to reschedule my appointment to Friday the 11th at 10 am.",
            confirm("move_appointment", date="2026-12-11", time="10:00"),
        ),
        one(
            "Can I book a technician for tomorrow at noon?",
            confirm("book_appointment", date="2026-12-02", time="12:00"),
        ),
        one(
            "I'd like somebody to come out and look at my line, maybe Monday morning around nine.",
            confirm("book_appointment", date="2026-12-07", time="09:00"),
        ),
        one("I need an appointment.", ask("date")),
        [
            Step("It's about my appointment.", clarify("book_appointment", "move_appointment", "cancel_appointment")),
            Step("I need to cancel it.", confirm("cancel_appointment")),
            Step("Yes.", call("cancel_appointment")),
        ],
        [
            Step("I need to move my appointment.", ask("date")),
            Step("Friday.", ask("time")),
            Step("Say 3 in the afternoon?", confirm("move_appointment", date="2026-12-04", time="15:00")),
            Step("Actually make it Monday.", confirm("move_appointment", date="2026-12-07", time="15:00")),
            Step("Yep.", call("move_appointment", date="2026-12-07", time="15:00")),
        ],
        [
            Step("I'd like to book an appointment for Wednesday.", ask("time")),
            Step("Quarter to five.", confirm("book_appointment", date="2026-12-02", time="16:45")),
            Step("Correct.", call("book_appointment", date="2026-12-02", time="16:45")),
        ],
        [
            Step("Can you book me in for the 3rd?", ask("time")),
            Step("Could I do ten thirty?", confirm("book_appointment", date="2026-12-03", time="10:30")),
            Step("Sounds good.", call("book_appointment", date="2026-12-03", time="10:30")),
        ],
        # knowledge
        one("My broadband keeps dropping.", call("answer_question", question=ANY)),
        one("Can I send something back?", call("answer_question", question=ANY)),
        one("What time do you guys close on Friday?", call("answer_question", question=ANY)),
        one("Is delivery free?", call("answer_question", question=ANY)),
        one(
            "I'm moving to a new flat next month, what do I do about my service?", call("answer_question", question=ANY)
        ),
        one("Do you take debit cards?", call("answer_question", question=ANY)),
        # people and keys
        one("Can I get someone on the line who isn't a machine?", call("transfer_to_agent", reason=OPTIONAL)),
        one("Honestly just put me through to a real person.", call("transfer_to_agent", reason=OPTIONAL)),
        one("I need to speak to somebody, a human please.", call("transfer_to_agent", reason=OPTIONAL)),
        one("Press 2 for me.", call("press_keys", digits="2")),
        # small talk and the end of the call
        one("No that's it, thanks, bye.", call("end_call")),
        one("Alright, thanks for your help, bye.", call("end_call")),
        one("Okay that's everything, have a good one.", call("end_call")),
        one("What can you do?", say("help")),
        one("Hello?", say("greeting")),
        one("Thanks!", say("welcome")),
        [
            Step("Can you tell me what my balance is?", call("get_balance"), BALANCE),
            Step("Sorry, can you say that again?", say("repeat")),
            Step("Okay. Thanks.", say("welcome")),
            Step("No, that's all.", call("end_call")),
        ],
    ]


def product_set() -> ToolSet:
    registry = build_registry(cast(Any, None), cast(Any, None))
    return ToolSet("product", instructions(), registry.schemas(), _dialogs())
