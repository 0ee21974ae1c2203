"""An airline's tools, written as its developers would: plain descriptions, no example phrases."""

from __future__ import annotations

from bench.brain_sets.cases import Step, ToolSet, ask, call, confirm, fact, fn, one, say

INSTRUCTIONS = """You are the virtual agent for Skyway Airlines. Be concise.
Each passenger may bring one carry-on bag and one personal item for free.
Checked bags cost 35 dollars each, up to 50 pounds.
Online check-in opens 24 hours before departure.
Cats and dogs under 20 pounds can travel in the cabin for a 95 dollar fee."""

CODE = {"type": "string", "description": "6-character booking reference"}
TOOLS = [
    fn("check_flight_status", "Get the departure and arrival status of a flight.",
       {"flight_number": {"type": "string", "description": "Flight number, e.g. SW1234"},
        "date": {"type": "string", "format": "date", "description": "Departure date"}}, ("flight_number",)),
    fn("change_flight", "Change the travel date of an existing booking.",
       {"confirmation_code": CODE, "new_date": {"type": "string", "format": "date"}}, ("confirmation_code", "new_date")),
    fn("cancel_booking", "Cancel a booking and refund it as travel credit.", {"confirmation_code": CODE},
       ("confirmation_code",)),
    fn("add_checked_bag", "Add checked bags to a booking.",
       {"confirmation_code": CODE, "bags": {"type": "integer", "minimum": 1, "maximum": 3, "description": "Number of bags to add"}},
       ("confirmation_code", "bags")),
    fn("request_wheelchair", "Arrange wheelchair assistance at the airport.", {"confirmation_code": CODE},
       ("confirmation_code",)),
    fn("speak_to_agent", "Transfer the caller to a reservations agent."),
    fn("end_call", "End the call."),
]  # fmt: skip


def _dialogs() -> list[list[Step]]:
    return [
        one("Is flight SW 1 4 2 0 on time?", call("check_flight_status", flight_number="SW1420")),
        one(
            "My mom's coming in on flight 2 2 8 tonight, has it landed yet?",
            call("check_flight_status", flight_number="228", date="2026-12-01"),
        ),
        one(
            "Any delays on SW 77 tomorrow morning?",
            call("check_flight_status", flight_number="SW77", date="2026-12-02"),
        ),
        one(
            "I need to move my trip to the 20th, booking code K 7 X 2 P Q.",
            confirm("change_flight", confirmation_code="K7X2PQ", new_date="2026-12-20"),
        ),
        one("I can't travel anymore, I want to cancel my booking.", ask("confirmation_code")),
        one(
            "Can I add two bags to reservation B 4 M 9 T L?",
            confirm("add_checked_bag", confirmation_code="B4M9TL", bags=2),
        ),
        one("My father needs a wheelchair at the airport.", ask("confirmation_code")),
        one(
            "We'll need wheelchair help at the gate, the booking is R 2 D 2 C 3.",
            confirm("request_wheelchair", confirmation_code="R2D2C3"),
        ),
        one("How much is it to check a bag?", fact("35 dollars")),
        one("Can I bring my cat with me on the plane?", fact("under 20 pounds")),
        one("When can I check in online?", fact("24 hours")),
        one("How many carry-ons am I allowed?", fact("one carry-on")),
        one("Do you fly to Tokyo?", say("unknown")),
        one("Can I just talk to a person please?", call("speak_to_agent")),
        one("This is getting nowhere, get me a human.", call("speak_to_agent")),
        one("Yeah that's everything, thank you, goodbye.", call("end_call")),
        one("Hi there.", say("greeting")),
        [
            Step("I want to add a bag.", ask("confirmation_code")),
            Step("It's Q 2 W 8 R T.", confirm("add_checked_bag", confirmation_code="Q2W8RT", bags=1)),
            Step("Actually make it two.", confirm("add_checked_bag", confirmation_code="Q2W8RT", bags=2)),
            Step("Yes.", call("add_checked_bag", confirmation_code="Q2W8RT", bags=2)),
        ],
        [
            Step("I need to change my flight.", ask("confirmation_code")),
            Step("Sure, it's H 3 J 5 K 8.", ask("new_date")),
            Step("The 22nd.", confirm("change_flight", confirmation_code="H3J5K8", new_date="2026-12-22")),
            Step("Yep.", call("change_flight", confirmation_code="H3J5K8", new_date="2026-12-22")),
        ],
        [
            Step("Please cancel my booking Z 9 Y 8 X 7.", confirm("cancel_booking", confirmation_code="Z9Y8X7")),
            Step("No, don't do that actually.", say("declined")),
        ],
        [
            Step(
                "Is flight SW 9 0 1 departing on time?",
                call("check_flight_status", flight_number="SW901"),
                '{"flight_number": "SW901", "status": "delayed", "departure_time": "18:45", "gate": "B12"}',
            ),
            Step("Sorry, what was that?", say("repeat")),
            Step(
                "Ugh. Okay, then I want to cancel my booking, it's P 4 L 8 N 2.",
                confirm("cancel_booking", confirmation_code="P4L8N2"),
            ),
            Step("Yes, cancel it.", call("cancel_booking", confirmation_code="P4L8N2")),
        ],
        [
            Step("I'd like to change my booking to next Friday.", ask("confirmation_code")),
            Step(
                "Uh, let me find it, it's M 5 N 6 B 7.",
                confirm("change_flight", confirmation_code="M5N6B7", new_date="2026-12-11"),
            ),
            Step("Sure.", call("change_flight", confirmation_code="M5N6B7", new_date="2026-12-11")),
        ],
    ]


def travel_set() -> ToolSet:
    return ToolSet("travel", INSTRUCTIONS, TOOLS, _dialogs())
