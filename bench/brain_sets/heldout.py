"""Caller turns written after the brain was built and never tuned on: the same four companies' tools,
new words. Reported apart from the development sets, as a measure of what a new caller meets."""

from __future__ import annotations

from bench.brain_sets import pharmacy, travel, utility
from bench.brain_sets.cases import ANY, OPTIONAL, Step, ToolSet, ask, call, confirm, fact, one, say
from bench.brain_sets.product import product_set


def heldout_sets() -> list[ToolSet]:
    product = product_set()
    return [
        ToolSet("heldout-product", product.instructions, product.tools, [
            one("Yeah hi, is order 6 6 2 0 4 on its way yet?", call("get_order_status", order_id="66204")),
            one("I'd like to know how much is due on my account.", call("get_balance")),
            one("Let me pay off fifty two dollars please.", confirm("pay_bill", amount=52)),
            one("I'm not going to be home Thursday, can we do Friday at 1 instead for the visit?",
                confirm("move_appointment", date="2026-12-04", time="13:00")),
            one("Please get me an agent.", call("transfer_to_agent", reason=OPTIONAL)),
            one("How long does shipping normally take?", call("answer_question", question=ANY)),
            one("Great, that's all I needed. Cheers.", call("end_call")),
            [Step("I need a technician to come out.", ask("date")),
             Step("Uh, the 9th?", ask("time")),
             Step("Two o'clock.", confirm("book_appointment", date="2026-12-09", time="14:00")),
             Step("Yeah go ahead.", call("book_appointment", date="2026-12-09", time="14:00"))],
        ]),
        ToolSet("heldout-pharmacy", pharmacy.INSTRUCTIONS, pharmacy.TOOLS, [
            one("I'm gonna run out of my metformin, the prescription number is 1 2 0 9 8 7.",
                confirm("refill_prescription", rx_number="120987")),
            one("Can you tell me if 4 0 4 1 1 2 is ready?", call("check_prescription_status", rx_number="404112")),
            one("I'd like to speak with the pharmacist on duty.", call("connect_pharmacist")),
            one("Are you open Sunday afternoon?", fact("weekends")),
            one("Which Greenleaf is closest to 9 4 1 1 0?", call("find_store", zip_code="94110")),
            one("Do you do passport photos?", say("unknown")),
        ]),
        ToolSet("heldout-utility", utility.INSTRUCTIONS, utility.TOOLS, [
            one("There's no power at 88 Spruce Street.", confirm("report_outage", address="88 Spruce Street", outage_type="power")),
            one("What do I owe on 2 4 6 8 1 3 5 7?", call("get_account_balance", account_number="24681357")),
            one("Could I get the electric turned on at 12 Ash Court starting Wednesday?",
                confirm("start_service", address="12 Ash Court", start_date="2026-12-02")),
            one("How late are you open on Saturdays?", fact("7 pm")),
            [Step("I'd like to make a payment.", ask("account_number")),
             Step("It's 1 3 5 7 2 4 6 8.", ask("amount")),
             Step("Sixty five fifty.", confirm("make_payment", account_number="13572468", amount=65.5)),
             Step("Yes, do it.", call("make_payment", account_number="13572468", amount=65.5))],
        ]),
        ToolSet("heldout-travel", travel.INSTRUCTIONS, travel.TOOLS, [
            one("What's the status of SW 5 5 0 today?", call("check_flight_status", flight_number="SW550", date="2026-12-01")),
            one("We need to cancel reservation T 6 Y 7 U 8, something came up.", confirm("cancel_booking", confirmation_code="T6Y7U8")),
            one("Could I bring a third bag? Booking is G 5 H 6 J 7.", confirm("add_checked_bag", confirmation_code="G5H6J7", bags=1)),
            one("Is there a fee for checked luggage?", fact("35 dollars")),
            one("Put me through to reservations please.", call("speak_to_agent")),
            one("That's it for now, bye.", call("end_call")),
        ]),
    ]  # fmt: skip
