"""The real engine on loopback, driven like a phone gateway would: phone-band speech in, events out."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.engine.response import opening
from bot.engine.runtime import EngineRuntime
from tests.audio import phone_pcm, phone_ulaw, silence, transcribe
from tests.client import RawClient, audio_of, compress, types
from tests.engine_setup import INSTRUCTIONS, ORDER_TOOL, connect, serve_engine


def in_order(names: list[str], expected: list[str]) -> bool:
    """`expected` occurs in `names` as a subsequence."""
    it = iter(names)
    return all(any(n == e for n in it) for e in expected)


async def test_beta_mulaw_question_gets_spoken_fact(beta: RawClient) -> None:
    await beta.send({"type": "session.update", "session": {
        "instructions": INSTRUCTIONS, "tools": [ORDER_TOOL],
        "input_audio_format": "g711_ulaw", "output_audio_format": "g711_ulaw",
        "input_audio_transcription": {"model": "whisper-1"},
    }})  # fmt: skip
    updated = (await beta.until("session.updated"))[-1]
    assert updated["session"]["input_audio_format"] == "g711_ulaw"
    await beta.append(phone_ulaw("What are your opening hours, please?") + silence("g711_ulaw", 1200), chunk=160)
    events = await beta.until("response.done")
    names = compress(types(events))
    assert in_order(names, [
        "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped", "input_audio_buffer.committed",
        "conversation.item.created", "response.created", "response.output_item.added", "conversation.item.created",
        "response.content_part.added", "response.audio_transcript.delta", "response.audio.delta",
        "response.audio.done", "response.audio_transcript.done", "response.content_part.done",
        "response.output_item.done", "response.done",
    ]), names  # fmt: skip
    transcript = next(e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed")
    assert "opening" in transcript["transcript"].lower()
    started = next(e for e in events if e["type"] == "input_audio_buffer.speech_started")
    committed = next(e for e in events if e["type"] == "input_audio_buffer.committed")
    assert started["item_id"] == committed["item_id"] == transcript["item_id"]
    done = events[-1]["response"]
    assert done["status"] == "completed"
    said = done["output"][0]["content"][0]["transcript"]
    assert said.startswith("Our opening hours are"), (transcript["transcript"], said)  # what it heard, what it said
    heard = transcribe(audio_of(events, "g711_ulaw"), 8000).lower()
    assert "monday" in heard and "friday" in heard, heard


async def test_ga_pcm24_order_status_function_call_then_spoken_result(ga: RawClient) -> None:
    await ga.send({"type": "session.update", "session": {
        "type": "realtime", "instructions": INSTRUCTIONS, "tools": [ORDER_TOOL],
        "audio": {
            "input": {"format": {"type": "audio/pcm", "rate": 24000}, "transcription": {"model": "whisper-1"},
                      "turn_detection": {"type": "server_vad", "silence_duration_ms": 500}},
            "output": {"format": {"type": "audio/pcm", "rate": 24000}},
        },
    }})  # fmt: skip
    await ga.until("session.updated")
    await ga.append(phone_pcm("Where is my order 4 5 7 2 1, please?", 24000) + silence("pcm16", 1000))
    events = await ga.until("response.done")
    names = types(events)
    assert "conversation.item.added" in names and "response.audio.delta" not in names  # GA names only
    transcript = next(e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed")
    assert "order" in transcript["transcript"].lower()
    args_done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert args_done["name"] == "get_order_status"
    assert json.loads(args_done["arguments"]) == {"order_id": "45721"}
    call = events[-1]["response"]["output"][0]
    assert call["type"] == "function_call" and call["call_id"] == args_done["call_id"]

    output = {"order_id": "45721", "status": "out for delivery", "arrival": "Friday"}
    await ga.send({"type": "conversation.item.create",
                   "item": {"type": "function_call_output", "call_id": call["call_id"], "output": json.dumps(output)}})  # fmt: skip
    added = await ga.until("conversation.item.added")
    assert added[-1]["previous_item_id"] == call["id"]
    await ga.send({"type": "response.create"})
    reply = await ga.until("response.done")
    assert in_order(
        types(reply),
        [
            "response.created",
            "response.output_audio_transcript.delta",
            "response.output_audio.delta",
            "response.output_audio.done",
            "response.done",
        ],
    )
    heard = transcribe(audio_of(reply, "pcm16"), 24000).lower()
    assert "delivery" in heard and "friday" in heard, heard


async def test_voice_live_path_pcm16_16k_with_client_commit(engine_url: str) -> None:
    async with connect(engine_url, dialect="voice-live", path="/voice-live/realtime") as vl:
        await vl.send({"type": "session.update", "session": {
            "instructions": INSTRUCTIONS, "turn_detection": None, "input_audio_sampling_rate": 16000,
            "input_audio_format": "pcm16", "output_audio_format": "pcm16_16000hz",
            "input_audio_transcription": {"model": "azure-speech", "phrase_list": ["Acme"]},
        }})  # fmt: skip
        session = (await vl.until("session.updated"))[-1]["session"]
        assert session["turn_detection"] is None and session["output_audio_format"] == "pcm16_16000hz"
        await vl.append(phone_pcm("Can I return something I bought?", 16000))
        await vl.send({"type": "input_audio_buffer.commit", "event_id": "c1"})
        committed = await vl.until("conversation.item.created")
        assert "input_audio_buffer.speech_started" not in types(committed)  # no server VAD
        await vl.send({"type": "response.create"})
        events = await vl.until("response.done")
        transcript = next(e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed")
        assert "return" in transcript["transcript"].lower()
        heard = transcribe(audio_of(events, "pcm16"), 16000).lower()
        assert "30 days" in heard or "thirty days" in heard, heard


async def test_text_item_and_text_only_response(beta: RawClient) -> None:
    await beta.send({"type": "session.update", "session": {"instructions": INSTRUCTIONS, "modalities": ["text"]}})
    await beta.until("session.updated")
    await beta.send({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "When are you open?"}]}})  # fmt: skip
    await beta.until("conversation.item.created")
    await beta.send({"type": "response.create"})
    events = await beta.until("response.done")
    assert "response.audio.delta" not in types(events)
    text = next(e for e in events if e["type"] == "response.text.done")["text"]
    assert "8 am to 6 pm" in text


async def test_response_instructions_are_spoken(beta: RawClient) -> None:
    await beta.send({"type": "response.create",
                     "response": {"instructions": 'Greet the caller with "Welcome, how may I help you?"'}})  # fmt: skip
    events = await beta.until("response.done")
    assert events[-1]["response"]["output"][0]["content"][0]["transcript"] == "Welcome, how may I help you?"
    heard = transcribe(audio_of(events, "pcm16"), 24000).lower()
    assert "welcome" in heard and "help" in heard, heard


async def test_espeak_voice_is_chosen_by_session_voice(beta: RawClient) -> None:
    await beta.send({"type": "session.update", "session": {"voice": "espeak:en-us"}})
    assert (await beta.until("session.updated"))[-1]["session"]["voice"] == "espeak:en-us"
    await beta.send({"type": "response.create", "response": {"instructions": 'Say "Thank you for calling, goodbye."'}})
    events = await beta.until("response.done")
    heard = transcribe(audio_of(events, "pcm16"), 24000).lower()
    assert "thank" in heard and "calling" in heard, heard
    await beta.send({"type": "session.update", "session": {"voice": "espeak:no-such-voice"}, "event_id": "v1"})
    error = (await beta.until("error"))[-1]["error"]
    assert error["param"] == "session.voice" and error["event_id"] == "v1"


async def test_concurrent_sessions_each_get_their_own_answer(engine_url: str) -> None:
    questions = {
        "What are your opening hours, please?": "monday",
        "Can I return something I bought?": "30",
        "Where is my order 4 5 7 2 1, please?": "order",
        "Hello there.": "help",
    }

    async def call(question: str) -> str:
        async with connect(engine_url) as client:
            await client.send({"type": "session.update", "session": {
                "instructions": INSTRUCTIONS, "tools": [ORDER_TOOL], "input_audio_format": "g711_ulaw",
                "output_audio_format": "g711_ulaw"}})  # fmt: skip
            await client.append(phone_ulaw(question) + silence("g711_ulaw", 1000), chunk=800)
            events = await client.until("response.done")
            output = events[-1]["response"]["output"][0]
            if output["type"] == "function_call":
                return str(output["name"] + " " + output["arguments"])
            return str(output["content"][0]["transcript"])

    answers = await asyncio.gather(*(call(q) for q in questions))
    for (question, expected), answer in zip(questions.items(), answers, strict=True):
        assert expected in answer.lower(), (question, answer)


def digits_with_pauses(pause_ms: int) -> bytes:
    """'My order number is' then 4 5 7 2 1 9 8, each digit after a pause, as a caller reads a card."""
    audio = phone_pcm("My order number is", 24000)
    for word in ("four", "five", "seven", "two", "one", "nine", "eight."):
        audio += silence("pcm16", pause_ms) + phone_pcm(word, 24000)
    return audio + silence("pcm16", 3000)


async def test_semantic_vad_waits_through_pauses_in_a_digit_run(engine_url: str) -> None:
    async def turns(detection: dict[str, Any]) -> list[dict[str, Any]]:
        async with connect(engine_url, dialect="ga") as client:
            await client.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
                "transcription": {"model": "whisper-1"}, "turn_detection": {**detection, "create_response": False}}}}})  # fmt: skip
            await client.until("session.updated")
            await client.append(digits_with_pauses(800))
            await client.send({"type": "input_audio_buffer.clear"})  # a marker: everything before it is in
            events = await client.until("input_audio_buffer.cleared")
            while sum(e["type"] == "input_audio_buffer.committed" for e in events) > sum(
                e["type"] == "conversation.item.input_audio_transcription.completed" for e in events
            ):
                events.append(await client.recv())
            return [e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed"]

    semantic = await turns({"type": "semantic_vad", "eagerness": "auto"})
    assert len(semantic) == 1, [e["transcript"] for e in semantic]  # one turn: not cut off
    digits = "".join(ch for ch in semantic[0]["transcript"] if ch.isdigit())
    assert digits.endswith("72198") or len(digits) >= 6, semantic[0]["transcript"]
    plain = await turns({"type": "server_vad", "silence_duration_ms": 500})
    assert len(plain) > 1  # a fixed 500 ms silence cuts the same caller off


async def test_session_update_has_the_openings_of_likely_replies_synthesized(
    runtime: EngineRuntime, beta: RawClient
) -> None:
    fact = "Our parking garage on Elm Street opens at 7 am, and it closes at 9 pm on weekdays."
    await beta.send({"type": "session.update", "session": {"instructions": "You are Acme's assistant.\n" + fact}})
    voice = (await beta.until("session.updated"))[-1]["session"]["voice"]
    first = opening(fact)
    assert first == "Our parking garage on Elm Street opens at 7 am,"
    for _ in range(200):  # the brain embeds its facts, then the TTS lane synthesizes openings (a few s at most)
        if runtime.voices.cached(voice, first):
            break
        await asyncio.sleep(0.1)
    assert runtime.voices.cached(voice, first)
    assert runtime.voices.cached(voice, "Sure.")


async def test_a_session_whose_openings_are_cached_leaves_the_tts_lane_alone(runtime: EngineRuntime) -> None:
    """Warm-up costs the first call only: 96 calls starting together once each sent every opening
    through the TTS lane (cached or not) and polled it, and greetings came late or not at all."""
    fact = "Our depot on Quay Road opens at 6 am, and it closes at 11 pm on weekdays."
    warmup = runtime.warmup  # (the engine app's copy of the runtime shares it)
    async with serve_engine(runtime) as url:
        async with connect(url) as first:
            await first.send({"type": "session.update", "session": {"instructions": fact}})
            for _ in range(600):  # up to 6 s: the brain indexes, then the openings are synthesized
                if runtime.voices.cached("alloy", opening(fact)) and not runtime.pool.waiting("tts"):
                    break
                await asyncio.sleep(0.01)
            assert runtime.voices.cached("alloy", opening(fact))
        jobs, asked, synthesized = runtime.pool.jobs["tts"], warmup.asked, warmup.synthesized
        async with connect(url) as second:
            await second.send({"type": "session.update", "session": {"instructions": fact}})
            await second.until("session.updated")
            for _ in range(600):  # the brain indexes (cached: at once), then the warm-up is asked
                if warmup.asked > asked:
                    break
                await asyncio.sleep(0.01)
            assert warmup.asked == asked + 1
        assert runtime.pool.jobs["tts"] == jobs and warmup.synthesized == synthesized  # everything was cached


PLAIN_TOOLS: list[dict[str, Any]] = [  # as a third party declares them: no example phrases
    {"type": "function", "name": "check_claim_status", "description": "Check the progress of an insurance claim.",
     "parameters": {"type": "object", "properties": {"claim_number": {"type": "string"}}, "required": ["claim_number"]}},
    {"type": "function", "name": "find_branch", "description": "Find the nearest branch office.",
     "parameters": {"type": "object", "properties": {"zip_code": {"type": "string", "description": "5-digit ZIP code"}},
                    "required": ["zip_code"]}},
    {"type": "function", "name": "talk_to_human", "description": "Hand the call over to a human representative.",
     "parameters": {"type": "object", "properties": {}}},
]  # fmt: skip


async def test_plain_third_party_tools_are_called_by_voice(engine_url: str) -> None:
    """Spoken requests over the phone band reach tools declared with a one-line description only."""
    asked = {
        "Hi, is there any news on claim 4 4 8 1 2?": ("check_claim_status", {"claim_number": "44812"}),
        "Where's the closest branch to zip code 7 8 7 0 2?": ("find_branch", {"zip_code": "78702"}),
        "Can I speak with an actual person, please?": ("talk_to_human", {}),
    }

    async def call(question: str) -> tuple[str, dict[str, Any]]:
        async with connect(engine_url) as client:
            # Plain server VAD and a long silence: this tests the brain, not turn-taking under a starved CPU
            # (where whisper also once heard a ZIP "1 0 0 1 1" as "100 111": no repeated digits here).
            await client.send({"type": "session.update", "session": {
                "instructions": "You are Harbor Mutual's phone assistant.", "tools": PLAIN_TOOLS,
                "turn_detection": {"type": "server_vad", "silence_duration_ms": 900},
                "input_audio_transcription": {"model": "whisper-1"},
                "input_audio_format": "g711_ulaw", "output_audio_format": "g711_ulaw"}})  # fmt: skip
            await client.append(phone_ulaw(question) + silence("g711_ulaw", 2500), chunk=800)
            events = await client.until("response.done")
            heard = [e.get("transcript") for e in events if "transcription" in e["type"]]
            output = events[-1]["response"]["output"][0]
            assert output["type"] == "function_call", (question, heard, output.get("content"))
            return str(output["name"]), json.loads(output["arguments"])

    answers = await asyncio.gather(*(call(q) for q in asked))
    assert dict(zip(asked, answers, strict=True)) == asked
