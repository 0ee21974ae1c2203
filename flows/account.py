"""Identity, billing and appointments: every tool that speaks account data wants a verified caller.

Identification uses the caller ID (or an account number); verification a ZIP code or date of birth.
Payments are confirmed by the brain before the call (consequential tool) and idempotent here: the
same call paying the same amount on the same invoice twice is charged once. A customer with no card
on file reads one out: `pay_bill` asks for it and marks the call as taking card data (the recording
pauses), `pay_with_card` takes it, keeps its last four digits only, and ends the pause.
"""

from __future__ import annotations

import hashlib
import re

from flows.call_state import FlowState, caller_phone
from flows.crm import CrmBackend
from flows.registry import CallContext, ToolRegistry, ToolResult

CARD_PROMPT = ("I'll take the card now. For your security, this part of the call isn't recorded. Please read me "
               "the card number, and then the security code on the back.")  # fmt: skip
VERIFY_FIRST = ToolResult({"message": "For your security, I first need to verify you. "
                                      "Please tell me your ZIP code or your date of birth."})  # fmt: skip


def luhn_ok(digits: str) -> bool:
    """A card number's own check digit (ISO/IEC 7812), 13 to 19 digits."""
    if not (13 <= len(digits) <= 19 and digits.isdigit()):
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def register(reg: ToolRegistry, crm: CrmBackend, state: FlowState) -> None:
    async def verified(context: CallContext) -> dict[str, str] | None:
        customer_id = await state.verified_customer(context.call_id)
        return await crm.customer(customer_id) if customer_id else None

    @reg.tool(
        "Verify the caller's identity with their ZIP code or date of birth.",
        examples=("my zip code is 94107", "my date of birth is April 12 1985", "verify me"),
    )
    async def verify_identity(context: CallContext, zip_code: str = "", date_of_birth: str = "",
                              account_id: str = "") -> ToolResult:  # fmt: skip
        phone = caller_phone(context)
        customer = await crm.customer_by_phone(phone) if phone else None
        if customer is None and account_id:
            customer = await crm.customer(account_id.upper() if account_id[:1].isalpha() else f"C{account_id}")
        if customer is None:
            return ToolResult({"message": "I couldn't find an account for this phone number. "
                                          "What is your account number?"})  # fmt: skip
        ok = (zip_code and zip_code == customer["zip"]) or (date_of_birth and date_of_birth == customer["dob"])
        if not ok:
            return ToolResult({"message": "Sorry, that doesn't match our records. Could you try again?"})
        await state.update(context.call_id, customer_id=customer["id"], verified="yes")
        return ToolResult({"message": f"Thank you, {customer['name'].split()[0]}, you're verified. "
                                      "How can I help with your account?"})  # fmt: skip

    @reg.tool("Tell the caller their bill balance.", examples=("what is my balance", "how much do I owe"))
    async def get_balance(context: CallContext) -> ToolResult:
        customer = await verified(context)
        if customer is None:
            return VERIFY_FIRST
        invoice = await crm.open_invoice(customer["id"])
        if invoice is None:
            return ToolResult({"message": "You have nothing to pay right now."})
        return ToolResult({"message": f"Your balance is ${float(invoice['amount_due']):.2f}, due {invoice['due']}."})

    @reg.tool("Pay the caller's bill.", examples=("I want to pay my bill", "pay 42 dollars", "make a payment"))
    async def pay_bill(context: CallContext, amount: float) -> ToolResult:
        customer = await verified(context)
        if customer is None:
            return VERIFY_FIRST
        # Idempotency: this call paying this amount is one payment, however often the tool is called.
        key = hashlib.sha256(f"{context.call_id}|{customer['id']}|{amount:.2f}".encode()).hexdigest()[:24]
        reference = await crm.payment(key)
        if reference is None:
            invoice = await crm.open_invoice(customer["id"])
            if invoice is None:
                return ToolResult({"message": "There is no open bill to pay."})
            due = float(invoice["amount_due"])
            if not 0 < amount <= due + 0.005:
                return ToolResult(
                    {"message": f"I can take a payment of up to ${due:.2f}. How much would you like to pay?"}
                )
            if not customer.get("card_last4"):  # no card on file: the caller reads one out, unrecorded
                await state.update(context.call_id, pay_amount=f"{amount:.2f}", pay_invoice=invoice["id"])
                return ToolResult({"message": CARD_PROMPT}, pci=True)
            reference, _new = await crm.pay(key, invoice["id"], amount, f"P{key[:6].upper()}")
        return ToolResult({"message": f"Payment of ${amount:.2f} received. Your confirmation is "
                                      f"{' '.join(reference)}.", "reference": reference})  # fmt: skip

    @reg.tool(
        "Pay by card. Takes the card number the caller reads out and the security code on the back.",
        examples=(
            "my card number is 4111 1111 1111 1111",
            "the card is 5500 0000 0000 0004, the code is 123",
            "it's 4242 4242 4242 4242 and the security code is 737",
        ),
    )
    async def pay_with_card(context: CallContext, card_number: str, security_code: str) -> ToolResult:
        """The card is checked (length, Luhn) and charged for the amount `pay_bill` was asked for; only
        its last four digits are kept. The recording pauses while the card is asked for (pci=True
        from `pay_bill`) and resumes once it is taken or the payment cannot go on (pci=False)."""
        customer = await verified(context)
        if customer is None:
            return ToolResult(VERIFY_FIRST.output, pci=False)
        pending = await state.get(context.call_id)
        if not pending.get("pay_amount"):
            return ToolResult({"message": "What would you like to pay, and how much?"}, pci=False)
        digits, code = re.sub(r"\D", "", card_number), re.sub(r"\D", "", security_code)
        if not luhn_ok(digits):
            return ToolResult({"message": "That card number doesn't seem right. Could you read it to me again?"})
        if len(code) not in (3, 4):
            return ToolResult({"message": "And the security code, the three or four digits on the back?"})
        amount = float(pending["pay_amount"])
        key = hashlib.sha256(f"{context.call_id}|{customer['id']}|{amount:.2f}".encode()).hexdigest()[:24]
        reference, _new = await crm.pay(key, pending["pay_invoice"], amount, f"P{key[:6].upper()}")
        await state.update(context.call_id, pay_amount="", paid_with=f"card ending {digits[-4:]}")
        return ToolResult({"message": f"Thank you. ${amount:.2f} is paid on the card ending {' '.join(digits[-4:])}. "
                                      f"Your confirmation is {' '.join(reference)}.", "reference": reference},
                          pci=False)  # fmt: skip

    @reg.tool("Book an appointment.", examples=("I need an appointment", "book a visit", "schedule a technician"))
    async def book_appointment(context: CallContext, date: str, time: str) -> ToolResult:
        customer = await verified(context)
        if customer is None:
            return VERIFY_FIRST
        await crm.set_appointment(customer["id"], date, time)
        return ToolResult({"message": f"You're booked for {date} at {time}."})

    @reg.tool("Move the caller's appointment.", examples=("move my appointment", "reschedule my visit"))
    async def move_appointment(context: CallContext, date: str, time: str) -> ToolResult:
        customer = await verified(context)
        if customer is None:
            return VERIFY_FIRST
        if await crm.appointment(customer["id"]) is None:
            return ToolResult({"message": "You have no appointment to move. Would you like to book one?"})
        await crm.set_appointment(customer["id"], date, time)
        return ToolResult({"message": f"Your appointment is now on {date} at {time}."})

    @reg.tool("Cancel the caller's appointment.", examples=("cancel my appointment", "I can't make my visit"))
    async def cancel_appointment(context: CallContext) -> ToolResult:
        customer = await verified(context)
        if customer is None:
            return VERIFY_FIRST
        if not await crm.cancel_appointment(customer["id"]):
            return ToolResult({"message": "You have no appointment booked."})
        return ToolResult({"message": "Your appointment is cancelled."})
