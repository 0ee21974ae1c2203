"""An energy utility's tools, written as its developers would: plain descriptions, no example phrases."""

from __future__ import annotations

from bench.brain_sets.cases import Step, ToolSet, ask, call, confirm, fact, fn, one, say

INSTRUCTIONS = """You are Northwind Energy's customer service voice agent.
Be calm and helpful; callers may be without power.
If you smell gas, leave the building right away and call 911 from outside.
Payments made before 5 pm post the same business day.
We never disconnect service for non-payment during extreme weather.
Our customer service line is open 7 am to 7 pm, Monday to Saturday.
Budget billing spreads your energy costs evenly across twelve monthly payments."""

ACCOUNT = {"type": "string", "description": "The 8-digit account number"}
ADDRESS = {"type": "string", "description": "Street address"}
TOOLS = [
    fn("report_outage", "Report a power or gas outage at an address.",
       {"address": ADDRESS, "outage_type": {"type": "string", "enum": ["power", "gas"]}}, ("address", "outage_type")),
    fn("get_account_balance", "Get the current balance on an account.", {"account_number": ACCOUNT}, ("account_number",)),
    fn("make_payment", "Take a payment on an account.",
       {"account_number": ACCOUNT, "amount": {"type": "number", "description": "Amount in US dollars"}},
       ("account_number", "amount")),
    fn("start_service", "Start service at a new address.",
       {"address": ADDRESS, "start_date": {"type": "string", "format": "date"}}, ("address", "start_date")),
    fn("stop_service", "Stop service at an address.",
       {"address": ADDRESS, "stop_date": {"type": "string", "format": "date"}}, ("address", "stop_date")),
    fn("schedule_meter_reading", "Schedule a visit to read the meter.",
       {"date": {"type": "string", "format": "date"},
        "time_window": {"type": "string", "enum": ["morning", "afternoon"]}}, ("date", "time_window")),
    fn("end_call", "End the call."),
]  # fmt: skip


def _dialogs() -> list[list[Step]]:
    return [
        one(
            "The power's been out on our whole street since last night, I'm at 14 Maple Avenue.",
            confirm("report_outage", address="14 Maple Avenue", outage_type="power"),
        ),
        one("Hi yeah, our lights went out about an hour ago.", ask("address")),
        one(
            "No electricity at 7 Cedar Court, can you send someone?",
            confirm("report_outage", address="7 Cedar Court", outage_type="power"),
        ),
        one(
            "I'd like to know what I owe on account 1 2 3 4 5 6 7 8.",
            call("get_account_balance", account_number="12345678"),
        ),
        one("What's my current balance?", ask("account_number")),
        one(
            "How much is my bill this month? Account number is 3 3 4 4 5 5 6 6.",
            call("get_account_balance", account_number="33445566"),
        ),
        one(
            "I want to pay 85 dollars on account 4 4 5 5 6 6 7 7.",
            confirm("make_payment", account_number="44556677", amount=85),
        ),
        one(
            "I'm moving into 22 Oak Lane on the 15th and need the electricity switched on.",
            confirm("start_service", address="22 Oak Lane", start_date="2026-12-15"),
        ),
        one(
            "We're moving out, please stop service at 9 Birch Road from Friday.",
            confirm("stop_service", address="9 Birch Road", stop_date="2026-12-04"),
        ),
        one(
            "Can someone come read my meter Thursday morning?",
            confirm("schedule_meter_reading", date="2026-12-03", time_window="morning"),
        ),
        one("When are your phones open on Saturdays?", fact("Monday to Saturday")),
        one("I think I smell gas in my kitchen.", fact("911")),
        one("If I pay this afternoon at 3, will it go through today?", fact("same business day")),
        one("What's budget billing?", fact("evenly")),
        one("Can you shut my power off if I can't pay during this cold snap?", fact("extreme weather")),
        one("Can you tell me a joke?", say("unknown")),
        one("Thanks, that's all for today.", call("end_call")),
        one("Um, what can I do on this line?", say("help")),
        [
            Step("I need to pay my bill.", ask("account_number")),
            Step("Sure, it's 8 7 6 5 4 3 2 1.", ask("amount")),
            Step("A hundred and twenty dollars.", confirm("make_payment", account_number="87654321", amount=120)),
            Step("Go for it.", call("make_payment", account_number="87654321", amount=120)),
        ],
        [
            Step("I'd like a meter reading.", ask("date")),
            Step("Next Tuesday.", ask("time_window")),
            Step(
                "Afternoon is better for me.",
                confirm("schedule_meter_reading", date="2026-12-08", time_window="afternoon"),
            ),
            Step("Yes please.", call("schedule_meter_reading", date="2026-12-08", time_window="afternoon")),
        ],
        [
            Step("I want to report a gas outage.", ask("address")),
            Step("It's 301 Pine Street.", confirm("report_outage", address="301 Pine Street", outage_type="gas")),
            Step("No wait, 310 Pine Street.", confirm("report_outage", address="310 Pine Street", outage_type="gas")),
            Step("Yes.", call("report_outage", address="310 Pine Street", outage_type="gas")),
        ],
        [
            Step("I need to get service started at my new place.", ask("address")),
            Step("It's 5 Willow Drive.", ask("start_date")),
            Step("Hmm, what's budget billing, by the way?", fact("evenly")),
            Step(
                "Okay. Start it on Monday please.",
                confirm("start_service", address="5 Willow Drive", start_date="2026-12-07"),
            ),
            Step("Yep.", call("start_service", address="5 Willow Drive", start_date="2026-12-07")),
        ],
        [
            Step(
                "What's the balance on 1 1 2 2 3 3 4 4?",
                call("get_account_balance", account_number="11223344"),
                '{"account_number": "11223344", "balance": 86.4, "due_date": "2026-12-18"}',
            ),
            Step(
                "Okay, I'll pay that now, 86 dollars 40.",
                confirm("make_payment", account_number="11223344", amount=86.4),
            ),
            Step("Yes.", call("make_payment", account_number="11223344", amount=86.4)),
        ],
    ]


def utility_set() -> ToolSet:
    return ToolSet("utility", INSTRUCTIONS, TOOLS, _dialogs())
