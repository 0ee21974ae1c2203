"""Voice Live's server echo cancellation and noise suppression in the engine.

A client that plays the bot on a speaker line sends the bot's own voice back (−12 dB, 60 ms late,
under line noise). With `input_audio_echo_cancellation` the engine's VAD never takes it for the
caller; without it, it does (so the test can fail). Bad types are refused with an error event.
"""

from __future__ import annotations

import audioop
from typing import Any

import numpy as np

from bot.audio import g711
from tests.audio import phone_ulaw, silence
from tests.client import RawClient, audio_of
from tests.engine_setup import connect

INSTRUCTIONS = (
    "You are the voice assistant of Acme Telecom.\nOur opening hours are Monday to Friday, from 8 am to 6 pm."
)


def echo_line(bot: bytes, delay_ms: int = 60, gain_db: float = -12.0, noise_dbfs: float = -50.0) -> bytes:
    """What comes back up the line while the client plays `bot` (8 kHz pcm16), as mu-law."""
    delayed = (bytes(delay_ms * 16) + bot)[: len(bot)]
    noise = np.random.default_rng(3).normal(0, 32768 * 10 ** (noise_dbfs / 20), len(bot) // 2).astype(np.int16)
    line = audioop.add(audioop.mul(delayed, 2, 10 ** (gain_db / 20)), noise.tobytes(), 2)
    return g711.pcm16_to_ulaw(line)


async def bot_reply(client: RawClient, session: dict[str, Any]) -> bytes:
    """Configure the session (G.711, server VAD that neither replies nor interrupts, plus `session`),
    ask a question in text, return the spoken reply as 8 kHz pcm16."""
    await client.send({"type": "session.update", "session": {
        "instructions": INSTRUCTIONS, "input_audio_format": "g711_ulaw", "output_audio_format": "g711_ulaw",
        "turn_detection": {"type": "server_vad", "create_response": False, "interrupt_response": False}, **session,
    }})  # fmt: skip
    await client.until("session.updated")
    await client.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                       "content": [{"type": "input_text", "text": "What are your opening hours, please?"}]}})  # fmt: skip
    await client.send({"type": "response.create"})
    bot = audio_of(await client.until("response.done"), "g711_ulaw")
    assert len(bot) > 16 * 2000  # a couple of seconds of reply to echo
    return bot


async def speak_then_hear_echo(client: RawClient, session: dict[str, Any]) -> list[str]:
    bot = await bot_reply(client, session)
    await client.append(echo_line(bot) + silence("g711_ulaw", 1000), chunk=320)  # played in 40 ms steps
    # Events are handled in order: once this answer is back, every append before it was processed.
    await client.send({"type": "input_audio_buffer.clear"})
    return [e["type"] for e in await client.until("input_audio_buffer.cleared")]


async def test_the_bots_echo_does_not_start_a_turn_with_server_echo_cancellation(engine_url: str) -> None:
    async with connect(engine_url, dialect="voice-live", path="/voice-live/realtime") as client:
        heard = await speak_then_hear_echo(client, {
            "input_audio_echo_cancellation": {"type": "server_echo_cancellation"},
            "input_audio_noise_reduction": {"type": "azure_deep_noise_suppression"},
        })  # fmt: skip
    assert "input_audio_buffer.speech_started" not in heard


async def test_without_echo_cancellation_the_echo_is_taken_for_the_caller(engine_url: str) -> None:
    async with connect(engine_url, dialect="voice-live", path="/voice-live/realtime") as client:
        heard = await speak_then_hear_echo(client, {})
    assert "input_audio_buffer.speech_started" in heard


async def test_a_caller_talking_over_the_echo_is_still_heard(engine_url: str) -> None:
    async with connect(engine_url, dialect="voice-live", path="/voice-live/realtime") as client:
        bot = await bot_reply(client, {
            "input_audio_transcription": {"model": "whisper-1"},
            "input_audio_echo_cancellation": {"type": "server_echo_cancellation"},
        })  # fmt: skip
        line = g711.ulaw_to_pcm16(echo_line(bot))
        caller = g711.ulaw_to_pcm16(phone_ulaw("I want to pay my bill."))
        at = 8000 * 2  # one second into the reply
        mixed = bytearray(line)
        over = audioop.add(bytes(mixed[at : at + len(caller)]), caller[: len(mixed) - at], 2)
        mixed[at : at + len(over)] = over
        await client.append(g711.pcm16_to_ulaw(bytes(mixed)) + silence("g711_ulaw", 1500), chunk=320)
        events = await client.until("conversation.item.input_audio_transcription.completed")
    assert "input_audio_buffer.speech_started" in [e["type"] for e in events]
    assert "bill" in events[-1]["transcript"].lower()


async def test_unknown_noise_or_echo_types_are_refused_and_the_session_goes_on(beta: RawClient) -> None:
    await beta.send({"type": "session.update", "session": {"input_audio_noise_reduction": {"type": "loud"}}})
    error = (await beta.until("error"))[-1]["error"]
    assert error["param"] == "session.input_audio_noise_reduction.type"
    await beta.send({"type": "session.update", "session": {"input_audio_echo_cancellation": {"type": "magic"}}})
    assert (await beta.until("error"))[-1]["error"]["param"] == "session.input_audio_echo_cancellation.type"
    await beta.send({"type": "session.update", "session": {"input_audio_noise_reduction": {"type": "near_field"}}})
    updated = (await beta.until("session.updated"))[-1]
    assert updated["session"]["input_audio_noise_reduction"] == {"type": "near_field"}
