"""Voice Live's interim_response on our engine: a line said while the caller would hear silence — a
reply slower than latency_threshold_ms, or one that calls a tool — in the reply's own message, before
the reply; the session's or the response's own; model-made lines refused politely (a warning, our
stock lines); a bad configuration answered with an error naming the field. Events are checked against
Microsoft's azure-ai-voicelive models by the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.realtime.interim_response import STOCK
from tests.audio import phone_pcm, silence
from tests.client import RawClient, audio_of
from tests.engine_setup import connect

TEXTS = ["Hmm, let me see.", "Okay, give me one second."]
ORDER_TOOL = {"type": "function", "name": "get_order_status", "description": "Look up the status of an order.",
              "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                             "required": ["order_id"]}}  # fmt: skip
INSTRUCTIONS = "You are the phone assistant of Acme Telecom. Our shop is open Monday to Friday, 8 am to 6 pm."


@pytest.fixture
async def voice_live(engine_url: str) -> AsyncIterator[RawClient]:
    async with connect(engine_url, dialect="voice-live", path="/voice-live/realtime") as client:
        yield client


async def configured(client: RawClient, **session: Any) -> dict[str, Any]:
    await client.send({"type": "session.update", "session": {"instructions": INSTRUCTIONS, **session}})
    return dict((await client.until("session.updated"))[-1]["session"])


async def voice_turn(client: RawClient, said: str) -> list[dict[str, Any]]:
    await client.append(phone_pcm(said, 24000) + silence("pcm16", 1500))
    return await client.until("response.done")


def transcript_of(done: dict[str, Any]) -> str:
    return " ".join(str(c.get("transcript") or "") for item in done["response"]["output"]
                    if item["type"] == "message" for c in item["content"]).strip()  # fmt: skip


async def test_a_reply_slower_than_the_threshold_starts_with_the_interim_line(voice_live: RawClient) -> None:
    """The caller's words are still being recognised when the threshold passes: the interim line is
    spoken first, then the answer, in one message whose audio holds both."""
    interim = {"type": "static_interim_response", "triggers": ["latency"], "latency_threshold_ms": 0, "texts": TEXTS}
    session = await configured(voice_live, interim_response=interim)
    assert session["interim_response"] == interim
    events = await voice_turn(voice_live, "Hi, um, when are you open on weekdays?")
    said = transcript_of(events[-1])
    line = next((t for t in TEXTS if said.startswith(t)), None)
    assert line is not None and len(said) > len(line) + 10, said  # the line, then the answer after it
    assert "8" in said or "eight" in said.lower(), said
    assert len([i for i in events[-1]["response"]["output"] if i["type"] == "message"]) == 1
    assert len(audio_of(events, "pcm16")) > 24000 * 2 * 2  # both said aloud


async def test_a_reply_within_the_threshold_has_no_interim_line(voice_live: RawClient) -> None:
    await configured(voice_live, interim_response={"type": "static_interim_response", "texts": TEXTS,
                                                   "triggers": ["latency"], "latency_threshold_ms": 60000})  # fmt: skip
    said = transcript_of((await voice_turn(voice_live, "When are you open?"))[-1])
    assert not any(said.startswith(t) for t in TEXTS), said


async def test_a_tool_call_gets_the_interim_line_before_it(voice_live: RawClient) -> None:
    """The reply is a call to the client's tool (which the client runs once the response is done): the
    interim line is said in a message before the function call, so the caller hears it meanwhile."""
    interim = {"type": "static_interim_response", "triggers": ["tool"], "texts": TEXTS}
    await configured(voice_live, interim_response=interim, tools=[ORDER_TOOL])
    events = await voice_turn(voice_live, "Hi, can you tell me where my order 4 5 7 2 1 is?")
    output = events[-1]["response"]["output"]
    assert [i["type"] for i in output] == ["message", "function_call"], output
    assert output[0]["content"][0]["transcript"] in TEXTS and output[1]["name"] == "get_order_status"
    assert len(audio_of(events, "pcm16")) > 24000 * 2 // 2
    # A reply that calls no tool has none (trigger "tool" only).
    await voice_live.send({"type": "response.create", "response": {"instructions": 'Say "Is there anything else?"'}})
    assert transcript_of((await voice_live.until("response.done"))[-1]) == "Is there anything else?"


async def test_a_response_brings_its_own_interim_configuration(voice_live: RawClient) -> None:
    await configured(voice_live, tools=[ORDER_TOOL])
    own = {"type": "static_interim_response", "triggers": ["tool"], "texts": ["Checking that now."]}
    await voice_live.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                           "content": [{"type": "input_text", "text": "Where is order 45721?"}]}})  # fmt: skip
    await voice_live.send({"type": "response.create", "response": {"interim_response": own}})
    output = (await voice_live.until("response.done"))[-1]["response"]["output"]
    assert output[0]["content"][0]["transcript"] == "Checking that now." and output[1]["type"] == "function_call"


async def test_model_made_lines_are_said_from_our_stock_with_a_warning(voice_live: RawClient) -> None:
    await configured(voice_live, tools=[ORDER_TOOL], interim_response={"type": "llm_interim_response",
                     "triggers": ["tool"], "instructions": "Say a short, friendly filler."})  # fmt: skip
    warning = (await voice_live.until("warning"))[-1]["warning"]  # (after session.updated)
    assert warning["param"] == "session.interim_response.type" and "stock" in warning["message"], warning
    await voice_live.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                           "content": [{"type": "input_text", "text": "Where is order 45721?"}]}})  # fmt: skip
    await voice_live.send({"type": "response.create"})
    output = (await voice_live.until("response.done"))[-1]["response"]["output"]
    assert output[0]["content"][0]["transcript"] in STOCK, output


@pytest.mark.parametrize(
    ("interim", "param"),
    [
        ({"type": "static_interim_response", "texts": []}, "session.interim_response.texts"),
        ({"type": "static_interim_response", "texts": ["x" * 300]}, "session.interim_response.texts"),
        ({"type": "smart_interim_response"}, "session.interim_response.type"),
        ({"type": "llm_interim_response", "triggers": ["silence"]}, "session.interim_response.triggers"),
        ({"type": "llm_interim_response", "latency_threshold_ms": "2s"}, "session.interim_response.latency_threshold_ms"),
    ],
)  # fmt: skip
async def test_a_bad_interim_configuration_is_an_error_naming_the_field(
    voice_live: RawClient, interim: dict[str, Any], param: str
) -> None:
    await voice_live.send({"type": "session.update", "session": {"interim_response": interim}, "event_id": "u1"})
    error = (await voice_live.until("error"))[-1]["error"]
    assert error["param"] == param and error["event_id"] == "u1", error
    await voice_live.send({"type": "response.create", "response": {"interim_response": interim}})
    error = (await voice_live.until("error"))[-1]["error"]
    assert error["param"] == param.replace("session.", "response."), error


async def test_metadata_is_echoed_on_the_session_and_the_response_and_checked(voice_live: RawClient) -> None:
    session = await configured(voice_live, metadata={"crm_case": "CASE-1182", "queue": "billing"})
    assert session["metadata"] == {"crm_case": "CASE-1182", "queue": "billing"}
    await voice_live.send({"type": "response.create", "response": {"metadata": {"turn": "greeting"},
                           "instructions": 'Say "Hello!"'}})  # fmt: skip
    events = await voice_live.until("response.done")
    assert events[-1]["response"]["metadata"] == {"turn": "greeting"}
    assert next(e for e in events if e["type"] == "response.created")["response"]["metadata"] == {"turn": "greeting"}
    await voice_live.send({"type": "session.update", "session": {"metadata": {f"k{i}": "v" for i in range(17)}}})
    assert (await voice_live.until("error"))[-1]["error"]["param"] == "session.metadata"
