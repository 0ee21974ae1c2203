"""The tool registry: schemas from type hints, and failures that come back as speakable outputs."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from bot.engine.brain.wording import result_line
from flows.registry import CallContext, ToolRegistry, ToolResult

CTX = CallContext("call-1", "sip:caller@x", "sip:bot@y")


def registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("Pay a bill.", examples=("pay my bill",), timeout_s=0.2)
    async def pay_bill(invoice_id: str, amount: float, context: CallContext) -> ToolResult:
        return ToolResult({"message": f"Paid {amount} on {invoice_id} for {context.caller}."})

    @reg.tool("Always fails.")
    async def broken() -> dict[str, str]:
        raise RuntimeError("billing database exploded")

    @reg.tool("Never answers.", timeout_s=0.05)
    async def stuck() -> dict[str, str]:
        await asyncio.sleep(10)
        return {}

    return reg


def test_schema_from_type_hints_with_examples() -> None:
    schema = next(s for s in registry().schemas() if s["name"] == "pay_bill")
    assert schema["type"] == "function" and schema["description"] == "Pay a bill. Examples: pay my bill"
    params = schema["parameters"]
    assert params["required"] == ["invoice_id", "amount"]
    assert params["properties"] == {"invoice_id": {"type": "string"}, "amount": {"type": "number"}}


async def test_valid_call_gets_context() -> None:
    result = await registry().call("pay_bill", '{"invoice_id": "9912", "amount": 42.5}', CTX)
    assert result.output == {"message": "Paid 42.5 on 9912 for sip:caller@x."}


@pytest.mark.parametrize(
    ("name", "arguments", "logged"),
    [
        ("pay_bill", '{"invoice_id": "9912"}', "bad arguments"),
        ("pay_bill", "{not json", "bad arguments"),
        ("broken", "{}", "failed"),
        ("stuck", "{}", "timed out"),
        ("no_such_tool", "{}", "unknown tool"),
    ],
)
async def test_failures_are_spoken_gracefully_and_logged(
    name: str, arguments: str, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="flows.registry"):
        result = await registry().call(name, arguments, CTX)
    assert "error" in result.output and result.action is None
    said, _ = result_line(json.dumps(result.output))
    assert said.startswith("Sorry, I couldn't do that") and not said.endswith(".."), said
    assert logged in caplog.text
