"""The `openai` brain against a loopback stand-in for a chat-completions endpoint.

The cloud cannot be reached from here, so the stand-in speaks the real wire protocol: POST
/v1/chat/completions with `stream: true` answered by server-sent events of `chat.completion.chunk`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bot.engine.runtime import EngineRuntime
from tests.audio import transcribe
from tests.client import audio_of
from tests.engine_setup import ORDER_TOOL, connect, serve_engine


def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
    return f"data: {json.dumps(body)}\n\n".encode()


@pytest.fixture
async def chat_server() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    requests: list[dict[str, Any]] = []

    async def completions(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        requests.append(body)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        last = body["messages"][-1]
        if last["role"] == "user" and "both" in last["content"]:  # the model calls two tools at once
            for index, (name, args) in enumerate((("get_order_status", '{"order_id": "45721"}'),
                                                  ("get_balance", "{}"))):  # fmt: skip
                call = {"index": index, "id": f"call_{index}", "type": "function",
                        "function": {"name": name, "arguments": args}}  # fmt: skip
                await response.write(chunk({"role": "assistant", "tool_calls": [call]}))
            await response.write(chunk({}, "tool_calls"))
        elif last["role"] == "user" and "order" in last["content"]:
            call = {"index": 0, "id": "call_x", "type": "function",
                    "function": {"name": "get_order_status", "arguments": ""}}  # fmt: skip
            await response.write(chunk({"role": "assistant", "tool_calls": [call]}))
            for part in ('{"order_', 'id": "45721"}'):
                await response.write(chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}))
            await response.write(chunk({}, "tool_calls"))
        else:
            said = "Your order is on its way. " if last["role"] == "tool" else "Hello there. "
            for word in (said + "Anything else?").split(" "):
                await response.write(chunk({"content": word + " "}))
                await asyncio.sleep(0)
            await response.write(chunk({}, "stop"))
        await response.write(b"data: [DONE]\n\n")
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1", requests
    await runner.cleanup()


async def test_llm_brain_streams_speech_and_tool_calls(
    runtime: EngineRuntime, chat_server: tuple[str, list[dict[str, Any]]]
) -> None:
    base_url, requests = chat_server
    overrides = {"brain": "openai", "brain_base_url": base_url, "brain_model": "m"}
    async with serve_engine(runtime, **overrides) as url, connect(url) as client:
        await client.send({"type": "session.update", "session": {"instructions": "Be nice.", "tools": [ORDER_TOOL]}})
        await client.send({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "where is my order"}]}})  # fmt: skip
        await client.send({"type": "response.create"})
        events = await client.until("response.done")
        args = next(e for e in events if e["type"] == "response.function_call_arguments.done")
        assert json.loads(args["arguments"]) == {"order_id": "45721"}
        await client.send({"type": "conversation.item.create", "item": {
            "type": "function_call_output", "call_id": args["call_id"], "output": '{"status": "shipped"}'}})  # fmt: skip
        await client.send({"type": "response.create"})
        events = await client.until("response.done")
        transcript = events[-1]["response"]["output"][0]["content"][0]["transcript"]
        assert transcript == "Your order is on its way. Anything else?"
        assert "way" in transcribe(audio_of(events, "pcm16"), 24000).lower()
    first, second = requests
    assert first["stream"] is True and first["tools"][0]["function"]["name"] == "get_order_status"
    assert first["max_tokens"] == 300  # a spoken reply is capped
    assert first["messages"][0]["role"] == "system" and "Be nice." in first["messages"][0]["content"]
    assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "get_order_status"
    assert second["messages"][-1] == {
        "role": "tool",
        "tool_call_id": args["call_id"],
        "content": '{"status": "shipped"}',
    }


BALANCE_TOOL = {"type": "function", "name": "get_balance", "description": "Tell the caller their bill balance.",
                "parameters": {"type": "object", "properties": {}}}  # fmt: skip


async def test_parallel_tool_calls_reaches_the_model_and_false_keeps_one_call_a_response(
    runtime: EngineRuntime, chat_server: tuple[str, list[dict[str, Any]]]
) -> None:
    """GA's parallel_tool_calls: the session's value goes to the model; a model that calls two tools at
    once anyway gets one function call in the response when it is false, both when it is true."""
    base_url, requests = chat_server
    overrides = {"brain": "openai", "brain_base_url": base_url, "brain_model": "m"}
    async with serve_engine(runtime, **overrides) as url, connect(url, dialect="ga") as client:
        calls = {}
        for parallel in (False, True):
            await client.send({"type": "session.update", "session": {"type": "realtime", "instructions": "Be nice.",
                               "tools": [ORDER_TOOL, BALANCE_TOOL], "parallel_tool_calls": parallel}})  # fmt: skip
            assert (await client.until("session.updated"))[-1]["session"]["parallel_tool_calls"] is parallel
            await client.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                               "content": [{"type": "input_text", "text": "both my order and my balance"}]}})  # fmt: skip
            await client.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
            output = (await client.until("response.done"))[-1]["response"]["output"]
            calls[parallel] = [item["name"] for item in output if item["type"] == "function_call"]
            assert requests[-1]["parallel_tool_calls"] is parallel
        await client.send({"type": "session.update", "session": {"type": "realtime", "parallel_tool_calls": "yes"}})
        assert (await client.until("error"))[-1]["error"]["param"] == "session.parallel_tool_calls"
    assert calls == {False: ["get_order_status"], True: ["get_order_status", "get_balance"]}
