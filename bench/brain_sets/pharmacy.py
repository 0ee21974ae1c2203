"""A pharmacy's tools, written as its developers would: plain descriptions, no example phrases."""

from __future__ import annotations

from bench.brain_sets.cases import Step, ToolSet, ask, call, clarify, confirm, fact, fn, one, say

INSTRUCTIONS = """You are the phone assistant for Greenleaf Pharmacy. Keep answers short and warm.
Never give medical advice; offer the pharmacist instead.
Our pharmacy counter is open 8 am to 9 pm on weekdays and 9 am to 5 pm on weekends.
Refills are usually ready within 24 hours of the request.
We accept most major insurance plans, including Medicare Part D.
Flu shots are available every day without an appointment.
Prescriptions not picked up within 10 days are returned to stock."""

RX = {"type": "string", "description": "Prescription number printed on the label"}
TOOLS = [
    fn("refill_prescription", "Request a refill of an existing prescription.",
       {"rx_number": RX, "pickup_date": {"type": "string", "format": "date", "description": "Day the patient will pick it up"}},
       ("rx_number",)),
    fn("check_prescription_status", "Check whether a prescription is ready for pickup.", {"rx_number": RX}, ("rx_number",)),
    fn("find_store", "Find the nearest Greenleaf store.",
       {"zip_code": {"type": "string", "description": "5-digit ZIP code"}}, ("zip_code",)),
    fn("connect_pharmacist", "Connect the caller with a pharmacist."),
    fn("set_refill_reminders", "Turn automatic refill reminder texts on or off.",
       {"enabled": {"type": "boolean", "description": "True to send reminders, false to stop them"}}, ("enabled",)),
    fn("end_call", "End the call."),
]  # fmt: skip


def _dialogs() -> list[list[Step]]:
    return [
        one(
            "Hi, I need to refill my blood pressure meds, the number on the bottle is 6 0 3 9 1 2.",
            confirm("refill_prescription", rx_number="603912"),
        ),
        one("Yeah I'm almost out of my inhaler, can you guys refill it?", ask("rx_number")),
        one(
            "Could you put in a refill for prescription 4 4 8 1 0 7, I'll grab it on Friday?",
            confirm("refill_prescription", rx_number="448107", pickup_date="2026-12-04"),
        ),
        one(
            "Is my prescription ready yet? The number is 2 9 1 1 7 4.",
            call("check_prescription_status", rx_number="291174"),
        ),
        one("I dropped off a script this morning, is it done?", ask("rx_number")),
        one("Hey, just checking if my meds are ready to pick up.", ask("rx_number")),
        one("Where's your closest store to 3 0 3 0 9?", call("find_store", zip_code="30309")),
        one("Is there a Greenleaf near me? I'm in zip code nine oh two one oh.", call("find_store", zip_code="90210")),
        one("What's the nearest location? I'm at 60614.", call("find_store", zip_code="60614")),
        one("Can I talk to the pharmacist about side effects?", call("connect_pharmacist")),
        one("I have a question for an actual pharmacist, is one around?", call("connect_pharmacist")),
        one("Please stop sending me those reminder texts.", confirm("set_refill_reminders", enabled=False)),
        one("Can you turn on refill reminders for me?", confirm("set_refill_reminders", enabled=True)),
        one("What time does the pharmacy close on Saturday?", fact("5 pm")),
        one("Do you take Medicare?", fact("Medicare")),
        one("Do I need an appointment for a flu shot?", fact("without an appointment")),
        one("How long does a refill usually take?", fact("24 hours")),
        one("What happens if I don't pick up my prescription for a couple of weeks?", fact("10 days")),
        one("Do you sell dog food?", say("unknown")),
        one("Okay great, that's all I needed, bye.", call("end_call")),
        one("What sort of things can you help me with?", say("help")),
        [
            Step("I need a refill.", ask("rx_number")),
            Step("It's 7 7 2 0 1 5.", confirm("refill_prescription", rx_number="772015")),
            Step(
                "Actually, can I pick it up Thursday?",
                confirm("refill_prescription", rx_number="772015", pickup_date="2026-12-03"),
            ),
            Step("Yes.", call("refill_prescription", rx_number="772015", pickup_date="2026-12-03")),
        ],
        [
            Step("I'd like to refill prescription 5 5 1 2 0 9.", confirm("refill_prescription", rx_number="551209")),
            Step("No sorry, 5 5 1 2 0 8.", confirm("refill_prescription", rx_number="551208")),
            Step("That's right.", call("refill_prescription", rx_number="551208")),
        ],
        [
            Step("Is my prescription ready?", ask("rx_number")),
            Step("Hold on, when do you close today?", fact("9 pm")),
            Step("Okay, the number's 3 3 1 9 0 4.", call("check_prescription_status", rx_number="331904")),
        ],
        [
            Step("It's about my prescription.", clarify("refill_prescription", "check_prescription_status")),
            Step("I want to know if it's ready.", ask("rx_number")),
            Step(
                "8 8 0 1 2 3.",
                call("check_prescription_status", rx_number="880123"),
                '{"ready": true, "pickup_by": "2026-12-10"}',
            ),
        ],
        [
            Step("Could you stop the refill reminder messages?", confirm("set_refill_reminders", enabled=False)),
            Step("Yep, go ahead.", call("set_refill_reminders", enabled=False), '{"enabled": false}'),
            Step("Thanks, bye now.", call("end_call")),
        ],
    ]


def pharmacy_set() -> ToolSet:
    return ToolSet("pharmacy", INSTRUCTIONS, TOOLS, _dialogs())
