"""OpenAI GA session and response fields on our engine: max_output_tokens cuts the reply where the
real API would (status incomplete, reason max_output_tokens), truncation is taken and echoed, stored
prompts are refused by name; the transcription prompt (both dialects) reaches the recogniser."""

from __future__ import annotations

from typing import Any

from tests.audio import phone_pcm, silence
from tests.client import RawClient
from tests.engine_setup import connect

LONG = ("Our opening hours are Monday to Friday, from 8 am to 6 pm. On Saturdays we open at ten. "
        "On Sundays and public holidays the shop is closed, but the phone line stays open.")  # fmt: skip


async def test_a_reply_over_its_token_budget_is_cut_and_reported_incomplete(ga: RawClient) -> None:
    await ga.send({"type": "response.create", "response": {"instructions": f'Say "{LONG}"', "max_output_tokens": 12,
                                                           "output_modalities": ["text"]}})  # fmt: skip
    done = (await ga.until("response.done"))[-1]["response"]
    assert done["status"] == "incomplete" and done["status_details"]["reason"] == "max_output_tokens", done
    said = done["output"][0]["content"][0]["text"]
    assert LONG.startswith(said) and 0 < len(said) <= 12 * 4, said
    await ga.send(
        {"type": "response.create", "response": {"instructions": f'Say "{LONG}"', "output_modalities": ["text"]}}
    )
    done = (await ga.until("response.done"))[-1]["response"]
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == LONG


async def test_the_sessions_budget_applies_to_every_reply_and_is_checked(ga: RawClient) -> None:
    await ga.send({"type": "session.update", "session": {"type": "realtime", "max_output_tokens": 8}})
    assert (await ga.until("session.updated"))[-1]["session"]["max_output_tokens"] == 8
    await ga.send({"type": "response.create", "response": {"instructions": f'Say "{LONG}"'}})
    done = (await ga.until("response.done"))[-1]["response"]
    assert done["status"] == "incomplete", done
    await ga.send({"type": "session.update", "session": {"type": "realtime", "max_output_tokens": 0}, "event_id": "e1"})
    error = (await ga.until("error"))[-1]["error"]
    assert error["param"] == "session.max_output_tokens" and error["event_id"] == "e1"


async def test_truncation_is_taken_and_stored_prompts_are_refused(ga: RawClient) -> None:
    ratio = {"type": "retention_ratio", "retention_ratio": 0.7}
    await ga.send({"type": "session.update", "session": {"type": "realtime", "truncation": ratio}})
    assert (await ga.until("session.updated"))[-1]["session"]["truncation"] == ratio
    await ga.send({"type": "session.update", "session": {"type": "realtime", "truncation": "sometimes"}})
    assert (await ga.until("error"))[-1]["error"]["param"] == "session.truncation"
    await ga.send({"type": "session.update", "session": {"type": "realtime", "prompt": {"id": "pmpt_123"}}})
    error = (await ga.until("error"))[-1]["error"]
    assert error["param"] == "session.prompt" and error["code"] == "unsupported_parameter"


async def transcribed(client: RawClient, session: dict[str, Any], said: str) -> str:
    """What the engine's recogniser wrote for `said` (a phone-band turn) under `session`."""
    await client.send({"type": "session.update", "session": session})
    await client.until("session.updated")
    await client.append(phone_pcm(said, 24000) + silence("pcm16", 1500))
    done = await client.until("conversation.item.input_audio_transcription.completed")
    return str(done[-1]["transcript"])


async def test_the_transcription_prompt_spells_the_calls_own_words(engine_url: str) -> None:
    """A product name whisper does not know ("his entrance router") is written as the prompt spells it,
    from the GA session's audio.input.transcription.prompt and from Voice Live's input_audio_transcription."""
    said = "I need help with the Zentrix router you sent me."
    manual = {"type": "server_vad", "create_response": False}
    for dialect, plain, prompted in (
        ("ga", {"type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}, "turn_detection": manual}}},
         {"type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1", "prompt": "Zentrix routers "
          "and Zentrix mesh."}, "turn_detection": manual}}}),
        ("voice-live", {"input_audio_transcription": {"model": "azure-speech"}, "turn_detection": manual},
         {"input_audio_transcription": {"model": "azure-speech", "prompt": "Zentrix routers and Zentrix mesh."},
          "turn_detection": manual}),
    ):  # fmt: skip
        path = "/voice-live/realtime" if dialect == "voice-live" else "/v1/realtime"
        async with connect(engine_url, dialect=dialect, path=path) as client:
            without = await transcribed(client, plain, said)
        async with connect(engine_url, dialect=dialect, path=path) as client:
            told = await transcribed(client, prompted, said)
        assert "zentrix" not in without.lower() and "zentrix router" in told.lower(), (dialect, without, told)


async def test_a_transcription_language_the_recogniser_lacks_is_refused_by_name(beta: RawClient, ga: RawClient) -> None:
    """The offline recogniser is English (whisper tiny.en): English in any spelling is taken, another
    language is an invalid_value naming the field in each dialect, never French heard as English."""
    await beta.send({"type": "session.update", "session": {"input_audio_transcription": {"model": "whisper-1",
                                                                                       "language": "en-GB"}}})  # fmt: skip
    taken = (await beta.until("session.updated"))[-1]["session"]["input_audio_transcription"]
    assert taken["language"] == "en-GB"
    await beta.send({"type": "session.update", "session": {"input_audio_transcription": {"model": "whisper-1",
                                                           "language": "fr"}}, "event_id": "fr1"})  # fmt: skip
    error = (await beta.until("error"))[-1]["error"]
    assert (error["code"], error["param"], error["event_id"]) == (
        "invalid_value", "session.input_audio_transcription.language", "fr1"), error  # fmt: skip
    assert "'fr'" in error["message"] and "en" in error["message"]
    await ga.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
        "transcription": {"model": "whisper-1", "language": "de"}}}}})  # fmt: skip
    assert (await ga.until("error"))[-1]["error"]["param"] == "session.audio.input.transcription.language"
