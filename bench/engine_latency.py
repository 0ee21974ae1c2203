"""End-of-turn latency of the local engine, as a phone gateway sees it.

Starts `voicebot engine` (or uses --url; --azure: one with Azure Speech stages through the SDK, at a
second engine as the offline Speech container), then for each of 20 utterances opens a session, streams the
phone-band utterance (piper TTS → 8 kHz mu-law) paced in real time in 20 ms frames followed by line
silence, and measures from the end of the caller's speech to the first audio delta of the reply. A
function call is answered at once (as the SIP edge does) and the clock keeps running through it.
Prints one line per utterance, a summary, and last a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.engine_process import engine_process
from bot.audio import g711
from bot.audio.frames import FRAME_MS
from bot.audio.resample import resample_once
from bot.engine.tts import PiperVoice

INSTRUCTIONS = (
    "You are the voice assistant of Acme Telecom.\n"
    "Our opening hours are Monday to Friday, from 8 am to 6 pm.\n"
    "Returns are accepted within 30 days with the receipt.\n"
    "Shipping is free on orders over 50 dollars."
)
TOOLS = [
    {"type": "function", "name": "get_order_status",
     "description": "Look up the status of an order. Examples: where is my order; track my package",
     "parameters": {"type": "object", "properties": {"order_id": {"type": "string", "description": "The order number"}},
                    "required": ["order_id"]}},
    {"type": "function", "name": "get_balance", "description": "Tell the caller their account balance. Examples: what do I owe; my balance",
     "parameters": {"type": "object", "properties": {"account_id": {"type": "string", "description": "The account number"}},
                    "required": ["account_id"]}},
    {"type": "function", "name": "transfer_to_agent", "description": "Transfer to a human agent. Examples: talk to a person; an agent please",
     "parameters": {"type": "object", "properties": {}, "required": []}},
]  # fmt: skip
UTTERANCES = [
    "What are your opening hours, please?", "Where is my order 4 5 7 2 1, please?", "Can I return something I bought?",
    "What is my balance on account 7 7 3 1?", "Do you charge for shipping?", "Hello there.",
    "I want to track my package.", "When are you open on Friday?", "Where is my order 9 0 1 2 3?",
    "Thank you very much.", "How long do I have to return an item?", "What do I owe on account 5 5 1 8?",
    "Is shipping free?", "Has my order 3 3 8 1 2 shipped yet?", "What time do you close?",
    "Hi, good morning.", "I'd like to check my balance.", "Can I send back a product?",
    "Where's my package, order 6 6 2 0 4?", "Goodbye.",
]  # fmt: skip
TOOL_OUTPUT = {
    "get_order_status": {"status": "shipped", "delivery": "Friday"},
    "get_balance": {"balance": 42.5, "due": "December 1"},
    "transfer_to_agent": {"message": "Transferring you now."},
}


def speech_end_ms(pcm8k: bytes) -> int:
    """Where the caller stops talking: the last 20 ms frame above a speech level."""
    a = np.frombuffer(pcm8k, dtype=np.int16).astype(np.float64)
    frames = a[: len(a) // 160 * 160].reshape(-1, 160)
    loud = np.nonzero(np.sqrt((frames**2).mean(axis=1)) > 300)[0]
    return int((loud[-1] + 1) * FRAME_MS) if len(loud) else 0


@asynccontextmanager
async def engine_at(url: str | None, azure: bool = False) -> AsyncIterator[str]:
    """`url`, or a fresh engine process's; `azure`: one whose ASR and TTS are Azure Speech through the
    Speech SDK, pointed at a second engine serving as the offline Speech container."""
    if url:
        yield url
        return
    if not azure:
        async with engine_process() as (base, _proc):
            yield base
        return
    async with engine_process() as (container, _):
        stages = {"VOICEBOT_ASR": "azure", "VOICEBOT_TTS": "azure",
                  "VOICEBOT_AZURE_SPEECH_HOST": container.replace("http://", "ws://")}  # fmt: skip
        async with engine_process(env=stages) as (base, _proc):
            yield base


async def one_call(
    http: aiohttp.ClientSession, base: str, ulaw: bytes, end_ms: int, turn_detection: dict[str, object]
) -> tuple[float, str]:
    async with http.ws_connect(f"{base}/v1/realtime", headers={"OpenAI-Beta": "realtime=v1"}) as ws:
        await ws.send_json({"type": "session.update", "session": {
            "instructions": INSTRUCTIONS, "tools": TOOLS, "input_audio_format": "g711_ulaw",
            "output_audio_format": "g711_ulaw", "turn_detection": turn_detection,
        }})  # fmt: skip
        first_audio = asyncio.get_running_loop().create_future()
        transcript: list[str] = []

        async def receive() -> None:
            async for msg in ws:
                event = json.loads(msg.data)
                kind = event["type"]
                if kind == "response.audio.delta" and not first_audio.done():
                    first_audio.set_result(time.perf_counter())
                elif kind == "response.audio_transcript.done":
                    transcript.append(event["transcript"])
                elif kind == "response.function_call_arguments.done":
                    output = TOOL_OUTPUT.get(event["name"], {})
                    await ws.send_json({"type": "conversation.item.create", "item": {
                        "type": "function_call_output", "call_id": event["call_id"], "output": json.dumps(output)}})  # fmt: skip
                    await ws.send_json({"type": "response.create"})
                elif kind == "response.done" and first_audio.done():
                    return

        reader = asyncio.create_task(receive())
        t0 = time.perf_counter()
        line = ulaw + b"\xff" * (8 * 4000)  # the phone line goes on with silence: at most 4 s more
        try:
            for i in range(0, len(line), 160):
                delay = t0 + i / 8000 - time.perf_counter()  # paced from a fixed start: no drift
                if delay > 0:
                    await asyncio.sleep(delay)
                if first_audio.done() and reader.done():
                    break
                await ws.send_json({"type": "input_audio_buffer.append",
                                    "audio": base64.b64encode(line[i : i + 160]).decode()})  # fmt: skip
            await asyncio.wait_for(asyncio.shield(first_audio), 30)
            await asyncio.wait_for(reader, 30)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        return (first_audio.result() - (t0 + end_ms / 1000)) * 1000, " ".join(transcript)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="a running engine, e.g. http://127.0.0.1:8765 (default: start one)")
    parser.add_argument("-n", type=int, default=len(UTTERANCES))
    parser.add_argument("--turns", choices=("server_vad", "semantic_vad"), default="server_vad",
                        help="server_vad with 500 ms silence, or semantic_vad with eagerness high")  # fmt: skip
    parser.add_argument("--azure", action="store_true",
                        help="speech through the Azure Speech SDK, at a second engine as the Speech container")  # fmt: skip
    args = parser.parse_args()
    voice = PiperVoice()
    calls = []
    for text in UTTERANCES[: args.n]:
        pcm8k = resample_once(voice.synthesize(text, vary=False), voice.sample_rate, 8000)
        calls.append((text, g711.pcm16_to_ulaw(pcm8k), speech_end_ms(pcm8k)))
    latencies = []
    async with engine_at(args.url, args.azure) as base, aiohttp.ClientSession() as http:
        for text, ulaw, end_ms in calls:
            detection: dict[str, object] = (
                {"type": "semantic_vad", "eagerness": "high"} if args.turns == "semantic_vad"
                else {"type": "server_vad", "silence_duration_ms": 500}
            )  # fmt: skip
            ms, reply = await one_call(http, base, ulaw, end_ms, detection)
            latencies.append(ms)
            print(f"{ms:7.0f} ms  {text!r} -> {reply[:70]!r}", flush=True)
        async with http.get(f"{base}/stats") as r:
            stats = await r.json()
    a = np.array(latencies)
    p50, p95 = float(np.percentile(a, 50)), float(np.percentile(a, 95))

    def med(stage: str) -> float:
        return float(stats.get(stage, {}).get("p50", 0.0))

    print(f"end of speech -> first audio: p50 {p50:.0f} ms, p95 {p95:.0f} ms over {len(a)} utterances")
    print(f"stage medians: asr wait {med('asr_wait_ms'):.0f} ms (compute {med('asr_compute_ms'):.0f} ms, "
          f"listening recogniser's final after the commit {med('asr_final_ms'):.0f} ms), "
          f"brain {med('brain_ms'):.0f} ms, tts first sentence {med('tts_first_ms'):.0f} ms; "
          f"speculative ASR hits {stats['speculative_hits']}, misses {stats['speculative_misses']}")  # fmt: skip
    print(json.dumps({
        "p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "asr_ms": med("asr_wait_ms"), "brain_ms": med("brain_ms"),
        "tts_ms": med("tts_first_ms"), "asr_compute_ms": med("asr_compute_ms"), "asr_final_ms": med("asr_final_ms"),
        "n": len(a), "cpus": os.cpu_count(), "turns": args.turns, "speech": "azure-sdk" if args.azure else "local",
    }))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
