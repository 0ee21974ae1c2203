"""The `openai` SDK's own realtime clients (GA and beta) against the local engine."""

from __future__ import annotations

import base64
import json
from typing import Any

from openai import AsyncOpenAI

from bot.audio import g711
from tests.audio import phone_ulaw, silence, transcribe
from tests.engine_setup import INSTRUCTIONS, ORDER_TOOL


def sdk_client(engine_url: str) -> AsyncOpenAI:
    ws = engine_url.replace("http://", "ws://")
    return AsyncOpenAI(api_key="unused-locally", base_url=f"{engine_url}/v1", websocket_base_url=f"{ws}/v1")


async def test_ga_sdk_mulaw_order_call_and_spoken_status(engine_url: str) -> None:
    client = sdk_client(engine_url)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await conn.session.update(session={
            "type": "realtime", "instructions": INSTRUCTIONS, "tools": [ORDER_TOOL],  # type: ignore[list-item]
            "audio": {"input": {"format": {"type": "audio/pcmu"}, "transcription": {"model": "whisper-1"}},
                      "output": {"format": {"type": "audio/pcmu"}}},
        })  # fmt: skip
        audio = phone_ulaw("Where is my order 4 5 7 2 1, please?") + silence("g711_ulaw", 1000)
        for i in range(0, len(audio), 1600):
            await conn.input_audio_buffer.append(audio=base64.b64encode(audio[i : i + 1600]).decode())
        seen: list[Any] = []
        async for event in conn:
            seen.append(event)
            if event.type == "response.done":
                break
        kinds = [e.type for e in seen]
        assert kinds[0] == "session.created" and "session.updated" in kinds
        assert "input_audio_buffer.speech_started" in kinds and "conversation.item.added" in kinds
        call = next(e for e in seen if e.type == "response.function_call_arguments.done")
        assert call.name == "get_order_status" and json.loads(call.arguments) == {"order_id": "45721"}

        output = json.dumps({"order_id": "45721", "status": "out for delivery"})
        await conn.conversation.item.create(item={"type": "function_call_output", "call_id": call.call_id,
                                                  "output": output})  # fmt: skip
        await conn.response.create()
        wire = b""
        async for event in conn:
            if event.type == "response.output_audio.delta":
                wire += base64.b64decode(event.delta)
            if event.type == "response.done":
                assert event.response.status == "completed"
                break
        heard = transcribe(g711.ulaw_to_pcm16(wire), 8000).lower()
        assert "out for delivery" in heard, heard


async def test_beta_sdk_text_turn(engine_url: str) -> None:
    client = sdk_client(engine_url)
    async with client.beta.realtime.connect(model="gpt-4o-realtime-preview") as conn:
        await conn.session.update(session={"instructions": INSTRUCTIONS, "modalities": ["text", "audio"]})
        await conn.conversation.item.create(item={
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "What are your hours?"}]})  # fmt: skip
        await conn.response.create()
        transcript = ""
        async for event in conn:
            if event.type == "response.audio_transcript.done":
                transcript = event.transcript
            if event.type == "response.done":
                break
        assert "8 am to 6 pm" in transcript
