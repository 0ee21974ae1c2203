"""Account flows against a real Redis: verification gates account data, payments are idempotent,
appointments can be booked, moved and cancelled."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from flows.call_state import FlowState
from flows.contact_center import build_registry
from flows.crm import Crm, seed
from flows.registry import CallContext, ToolRegistry


@pytest.fixture
async def tools(redis_url: str) -> AsyncIterator[tuple[ToolRegistry, Redis]]:
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await seed(redis)
    yield build_registry(Crm(redis), FlowState(redis)), redis
    await redis.aclose()


def jane_calls() -> CallContext:
    return CallContext(str(uuid.uuid4()), "<sip:+15550100@127.0.0.1>", "<sip:bot@127.0.0.1>")


async def say(reg: ToolRegistry, ctx: CallContext, tool: str, **args: object) -> str:
    return str((await reg.call(tool, json.dumps(args), ctx)).output["message"])


async def test_account_data_needs_verification(tools: tuple[ToolRegistry, Redis]) -> None:
    reg, _ = tools
    ctx = jane_calls()
    assert "verify" in await say(reg, ctx, "get_balance")
    assert "doesn't match" in await say(reg, ctx, "verify_identity", zip_code="10001")
    assert "verify" in await say(reg, ctx, "get_balance")
    assert "you're verified" in await say(reg, ctx, "verify_identity", zip_code="94107")
    assert await say(reg, ctx, "get_balance") == "Your balance is $42.50, due December 1."
    other = jane_calls()  # verification belongs to one call
    assert "verify" in await say(reg, other, "get_balance")


async def test_unknown_caller_id_verifies_with_account_number_and_birth_date(tools: tuple[ToolRegistry, Redis]) -> None:
    reg, _ = tools
    ctx = CallContext("c-anon", "<sip:softphone@127.0.0.1>", "<sip:bot@127.0.0.1>")
    assert "account number" in await say(reg, ctx, "verify_identity", zip_code="10001")
    assert "you're verified" in await say(reg, ctx, "verify_identity", account_id="1002", date_of_birth="1990-09-30")


async def test_a_repeated_payment_charges_once(tools: tuple[ToolRegistry, Redis]) -> None:
    reg, redis = tools
    ctx = jane_calls()
    await say(reg, ctx, "verify_identity", zip_code="94107")
    assert "up to $42.50" in await say(reg, ctx, "pay_bill", amount=500)
    first = await reg.call("pay_bill", '{"amount": 42.5}', ctx)
    again = await reg.call("pay_bill", '{"amount": 42.5}', ctx)  # the engine retried the tool call
    assert first.output["reference"] == again.output["reference"]
    assert "received" in first.output["message"]
    assert float(await redis.hget("crm:invoice:9912", "amount_due") or 0) == 0.0
    assert await redis.xlen("crm:payments") == 1


async def test_book_move_cancel_appointment(tools: tuple[ToolRegistry, Redis]) -> None:
    reg, redis = tools
    ctx = jane_calls()
    await say(reg, ctx, "verify_identity", zip_code="94107")
    assert "no appointment to move" in await say(reg, ctx, "move_appointment", date="2026-12-01", time="10:00")
    assert await say(reg, ctx, "book_appointment", date="2026-12-01", time="10:00") == (
        "You're booked for 2026-12-01 at 10:00."
    )
    assert "2026-12-02 at 15:00" in await say(reg, ctx, "move_appointment", date="2026-12-02", time="15:00")
    assert await redis.hget("crm:appointment:C1001", "time") == b"15:00"
    assert await say(reg, ctx, "cancel_appointment") == "Your appointment is cancelled."
    assert not await redis.exists("crm:appointment:C1001")


async def test_knowledge_answers_say_their_source(tools: tuple[ToolRegistry, Redis]) -> None:
    reg, _ = tools
    ctx = jane_calls()
    hours = (await reg.call("answer_question", '{"question": "When are you open?"}', ctx)).output
    assert hours["source"] == "Opening hours" and hours["message"].startswith("From our opening hours page:")
    assert "Monday to Friday" in hours["message"]
    returns = (await reg.call("answer_question", '{"question": "Can I return something I bought?"}', ctx)).output
    assert returns["source"] == "Returns", returns
    for question, page in (("My broadband keeps cutting out", "Internet outage"), ("Is postage free?", "Shipping"),
                           ("Can I send a thing back if it's the wrong size?", "Returns"),
                           ("We're relocating next month, what happens to my plan?", "Moving house"),
                           ("Do you charge for shipping?", "Shipping")):  # fmt: skip
        found = (await reg.call("answer_question", json.dumps({"question": question}), ctx)).output
        assert found["source"] == page, (question, found)
    unknown = (await reg.call("answer_question", '{"question": "What is the meaning of life?"}', ctx)).output
    assert unknown["source"] is None and "agent" in unknown["message"]


async def test_a_card_read_out_pauses_the_recording_and_only_its_last_digits_are_kept(
    tools: tuple[ToolRegistry, Redis],
) -> None:
    """Sam Lee has no card on file: pay_bill asks for one and marks card data being taken (pci=True);
    pay_with_card checks it (Luhn), charges the amount asked for once, and ends the pause."""
    reg, redis = tools
    ctx = CallContext(str(uuid.uuid4()), "<sip:+15550101@127.0.0.1>", "<sip:bot@127.0.0.1>")
    await say(reg, ctx, "verify_identity", zip_code="10001")
    asked = await reg.call("pay_bill", '{"amount": 120}', ctx)
    assert asked.pci is True and "card number" in asked.output["message"]
    wrong = await reg.call("pay_with_card", '{"card_number": "4111 1111 1111 1112", "security_code": "123"}', ctx)
    assert wrong.pci is None and "doesn't seem right" in wrong.output["message"]  # (still taking card data)
    paid = await reg.call("pay_with_card", '{"card_number": "4111-1111-1111-1111", "security_code": "123"}', ctx)
    assert paid.pci is False and "$120.00 is paid on the card ending 1 1 1 1" in paid.output["message"]
    again = await reg.call("pay_with_card", '{"card_number": "4111111111111111", "security_code": "123"}', ctx)
    assert again.pci is False and "how much" in again.output["message"]  # nothing asked for any more
    assert float(await redis.hget("crm:invoice:9913", "amount_due") or 0) == 0.0
    kept = str(await redis.hgetall(f"flow:{ctx.call_id}"))
    assert "1111" in kept and "4111" not in kept  # the last four digits only


async def test_a_card_on_file_is_charged_without_asking(tools: tuple[ToolRegistry, Redis]) -> None:
    reg, _ = tools
    ctx = jane_calls()
    await say(reg, ctx, "verify_identity", zip_code="94107")
    paid = await reg.call("pay_bill", '{"amount": 10}', ctx)
    assert paid.pci is None and "Payment of $10.00 received" in paid.output["message"]
