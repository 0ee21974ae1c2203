"""The engine's Azure Speech stages (VOICEBOT_ASR=azure, VOICEBOT_TTS=azure) through the real Speech
SDK, pointed at a Speech container: our own engine's container paths (tests/test_speech_container.py).
A phone turn goes in, the SDK recognises it, the brain answers, the SDK synthesises the answer; a
speech service that refuses the key gives the API's failure events and a spoken apology, not a hung turn."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from bench.engine_process import engine_process
from bot.engine.azure.recognizer import AzureRecognizer, locale
from bot.engine.azure.voice import is_azure_voice, ssml
from bot.engine.reply_voice import APOLOGY
from bot.engine.runtime import EngineRuntime, voice_bank
from bot.engine.speech.recognition import RecognitionSession
from bot.engine.transcription import FINAL_LEAD_MS
from bot.errors import SpeechServiceError
from bot.settings import Settings
from tests.audio import median_pitch_hz, phone_ulaw, silence, transcribe
from tests.client import RawClient, audio_of
from tests.engine_setup import INSTRUCTIONS, connect, serve_engine


@pytest.fixture
async def container(runtime: EngineRuntime) -> AsyncIterator[str]:
    """The engine serving the Speech container paths (the stand-in for Azure Speech)."""
    async with serve_engine(runtime, engine_api_key="sp33ch-k3y") as url:
        yield url.replace("http://", "ws://")


async def azure_engine(container: str, key: str) -> EngineRuntime:
    settings = Settings(_env_file=None, asr="azure", tts="azure", azure_speech_host=container,
                        azure_speech_key=key, azure_speech_voice="en-US-AvaNeural")  # fmt: skip
    # (in a thread: loading says a first "Hello!" through the container, which serves on this loop)
    return await asyncio.to_thread(EngineRuntime.load, settings)


async def test_a_voice_turn_through_azure_speech_both_ways(container: str) -> None:
    runtime = await azure_engine(container, "sp33ch-k3y")
    try:
        async with serve_engine(runtime) as url, connect(url, dialect="beta") as client:
            await client.send({"type": "session.update", "session": {
                "instructions": INSTRUCTIONS, "voice": "en-US-AndrewNeural",
                "input_audio_format": "g711_ulaw", "output_audio_format": "g711_ulaw",
                "input_audio_transcription": {"model": "azure-speech"},
            }})  # fmt: skip
            await client.until("session.updated")
            await client.append(
                phone_ulaw("Hi, um, what are your opening hours?") + silence("g711_ulaw", 1200), chunk=160
            )
            events = await client.until("response.done")
    finally:
        await runtime.aclose()
    heard = next(e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed")
    assert "opening" in heard["transcript"].lower(), heard
    done = events[-1]["response"]
    assert done["status"] == "completed", done
    said = done["output"][0]["content"][0]["transcript"]
    assert said.startswith("Our opening hours are"), said
    spoken = transcribe(audio_of(events, "g711_ulaw"), 8000).lower()
    assert "monday" in spoken and "friday" in spoken, spoken


async def test_a_speech_service_that_refuses_the_key_fails_the_turn_by_name_and_apologises(container: str) -> None:
    """An engine whose key the service stops taking: the caller's turn gets
    input_audio_transcription.failed naming the cause, and the reply, which the voice cannot say, an
    apology in the engine's own fallback voice and a speech_service_error: never a hung turn or silence."""
    with pytest.raises(SpeechServiceError, match="synthesis failed"):
        await azure_engine(container, "wrong-key")  # (loading says a first sentence: refused at once)
    runtime = await azure_engine(container, "sp33ch-k3y")
    revoked = runtime.settings.model_copy(update={"azure_speech_key": SecretStr("wrong-key")})
    await asyncio.to_thread(runtime.voices.close)
    runtime.transcriber, runtime.voices = AzureRecognizer(revoked), voice_bank(revoked, None)
    try:
        async with serve_engine(runtime) as url, connect(url, dialect="beta") as client:
            await client.send({"type": "session.update", "session": {
                "instructions": INSTRUCTIONS, "input_audio_format": "g711_ulaw", "output_audio_format": "g711_ulaw",
            }})  # fmt: skip
            await client.until("session.updated")
            await client.append(phone_ulaw("What are your opening hours?") + silence("g711_ulaw", 1200), chunk=160)
            events = await client.until("response.done")
    finally:
        await runtime.aclose()
    failed = next(e for e in events if e["type"] == "conversation.item.input_audio_transcription.failed")
    assert failed["error"]["code"] == "speech_service_error" and "401" in failed["error"]["message"], failed
    errors = [e["error"] for e in events if e["type"] == "error"]
    assert [e["code"] for e in errors] == ["speech_service_error"], errors
    done = events[-1]["response"]
    assert done["status"] == "failed" and done["output"][0]["content"][0]["transcript"] == APOLOGY, done
    spoken = transcribe(audio_of(events, "g711_ulaw"), 8000).lower()
    assert "sorry" in spoken and "trouble" in spoken, spoken


async def test_azure_speaks_the_sessions_prosody_and_its_word_boundaries_become_voice_live_timestamps(
    container: str,
) -> None:
    """Voice Live's voice rate and pitch go to Azure as SSML prosody (the container acts on both: a
    shorter, higher reply), and the service's word boundaries and visemes become the reply's
    response.audio_timestamp.delta and response.animation_viseme.delta, each before its audio."""
    runtime = await azure_engine(container, "sp33ch-k3y")
    line = "Your order ships on Friday, between nine and noon."
    voice = {"name": "en-US-AvaNeural", "type": "azure-standard"}
    try:
        async with serve_engine(runtime) as url, connect(url, dialect="beta") as client:

            async def reply(session: dict[str, Any]) -> list[dict[str, Any]]:
                await client.send({"type": "session.update", "session": {"instructions": INSTRUCTIONS, **session}})
                await client.until("session.updated")
                await client.send({"type": "response.create", "response": {"instructions": f'Say "{line}"'}})
                return await client.until("response.done")

            plain = audio_of(await reply({"voice": voice}), "pcm16")
            events = await reply({"voice": {**voice, "rate": "+30%", "pitch": "+25%"},
                                  "output_audio_timestamp_types": ["word"], "animation": {"outputs": ["viseme_id"]}})  # fmt: skip
    finally:
        await runtime.aclose()
    shaped = audio_of(events, "pcm16")
    assert len(shaped) < len(plain) * 0.85, (len(shaped), len(plain))
    assert median_pitch_hz(shaped) > median_pitch_hz(plain) * 1.15
    words = [e for e in events if e["type"] == "response.audio_timestamp.delta"]
    assert [w["text"] for w in words] == [w.strip(".,") for w in line.split()], words
    starts = [w["audio_offset_ms"] for w in words]
    assert starts == sorted(starts) and starts[-1] + words[-1]["audio_duration_ms"] <= len(shaped) / 48 + 1
    sent_ms, visemes = 0.0, 0
    for e in events:
        if e["type"] == "response.audio.delta":
            sent_ms += len(base64.b64decode(str(e["delta"]))) / 48
        elif e["type"] == "response.animation_viseme.delta":
            visemes += 1
            assert e["audio_offset_ms"] >= sent_ms - 1, (e, sent_ms)
    assert visemes > len(words)


async def test_azure_listens_while_the_caller_speaks_and_the_transcript_streams(
    container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With VOICEBOT_ASR=azure a turn goes to the SDK as it is spoken (20 ms frames in real time, as a
    phone gateway sends them), not after it: the service gets the session's turn detection as its
    segmentation (a phrase ends a little before the silence that ends a turn) and
    its language, the partial results become transcription deltas once the turn is committed (each
    after the item is created, all before the completed event, adding up to the heard text), and the
    final text comes from that same recognition: one recognition for the turn."""
    opened: list[RecognitionSession] = []
    real_init = RecognitionSession.__init__

    def spied(self: RecognitionSession, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(RecognitionSession, "__init__", spied)
    said = "Hi, yeah, so I'm calling about my order, it was meant to come on Tuesday and it still hasn't."
    # (the Azure-staged engine in a process of its own, as it runs: the SDK in the process that also
    # serves the container was seen holding a recognition's events back, one run in two)
    stages = {"VOICEBOT_ASR": "azure", "VOICEBOT_TTS": "azure", "VOICEBOT_AZURE_SPEECH_HOST": container,
              "VOICEBOT_AZURE_SPEECH_KEY": "sp33ch-k3y", "VOICEBOT_AZURE_SPEECH_VOICE": "en-US-AvaNeural"}  # fmt: skip
    async with engine_process(env=stages) as (url, _engine), connect(url, dialect="beta") as client:
        await client.send({"type": "session.update", "session": {
            "instructions": INSTRUCTIONS, "input_audio_format": "g711_ulaw", "output_audio_format": "g711_ulaw",
            "input_audio_transcription": {"model": "azure-speech", "language": "en-GB"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 800, "create_response": False},
        }})  # fmt: skip
        await client.until("session.updated")
        await in_real_time(client, phone_ulaw(said) + silence("g711_ulaw", 1500))
        events = await client.until("conversation.item.input_audio_transcription.completed")
    kinds = [e["type"] for e in events]
    created = kinds.index("conversation.item.created")
    deltas = [(i, e) for i, e in enumerate(events) if e["type"] == "conversation.item.input_audio_transcription.delta"]
    assert deltas and all(i > created for i, _ in deltas), kinds
    final = events[-1]["transcript"]
    assert "order" in final.lower() and "tuesday" in final.lower(), final
    streamed = re.findall(r"[a-z']+", "".join(e["delta"] for _, e in deltas).lower())
    heard = re.findall(r"[a-z']+", final.lower())
    assert streamed and streamed[0] == heard[0], (streamed, final)  # (a partial text may be revised later)
    assert sum(word in heard for word in streamed) >= len(streamed) * 0.7, (streamed, final)
    assert {e["item_id"] for _, e in deltas} == {events[-1]["item_id"]}
    turn = [r for r in opened if r.language == "en-GB"]  # (not the engine's warm-up run, at its start)
    assert len(turn) == 1, "one recognition for the turn"
    assert turn[0].silence_ms == 800 - FINAL_LEAD_MS


async def in_real_time(client: RawClient, ulaw: bytes) -> None:
    """8 kHz mu-law appended 20 ms at a time, each when it would have been spoken."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n, at in enumerate(range(0, len(ulaw), 160)):
        await client.append(ulaw[at : at + 160], chunk=160)
        await asyncio.sleep(max(0.0, start + (n + 1) * 0.02 - loop.time()))


def test_azure_names_and_ssml() -> None:
    assert is_azure_voice("en-US-AvaNeural") and is_azure_voice("en-US-Ava:DragonHDLatestNeural")
    assert not is_azure_voice("alloy") and not is_azure_voice("espeak:fr")
    assert locale("en") == "en-US" and locale("fr") == "fr-FR" and locale("en-GB") == "en-GB"
    assert ssml("Tom & Jerry's <show>", "en-US-AvaNeural") == (
        "<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang=\"en-US\">"
        '<voice name="en-US-AvaNeural">Tom &amp; Jerry\'s &lt;show&gt;</voice></speak>'
    )
    assert '<prosody rate="+10%" pitch="-2st">Hi</prosody>' in ssml(
        "Hi", "en-US-AvaNeural", prosody={"rate": "+10%", "pitch": "-2st", "volume": None}
    )
