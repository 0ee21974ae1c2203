"""OpenAI GA's turn_detection.idle_timeout_ms on our engine: a caller silent that long after the reply
finished playing gets input_audio_buffer.timeout_triggered with the silent span, the silence committed
as their turn, and a reply checking they are still there. Counted on the input audio's clock, so the
test streams the silence faster than real time."""

from __future__ import annotations

from typing import Any

from tests.audio import phone_pcm, silence
from tests.client import RawClient, types


def session(idle_ms: int) -> dict[str, Any]:
    return {"type": "realtime", "audio": {
        "input": {"format": {"type": "audio/pcm", "rate": 24000},
                  "turn_detection": {"type": "server_vad", "idle_timeout_ms": idle_ms}},
        "output": {"format": {"type": "audio/pcm", "rate": 24000}},
    }}  # fmt: skip


async def test_a_silent_caller_is_asked_whether_they_are_still_there(ga: RawClient) -> None:
    await ga.send({"type": "session.update", "session": session(5000)})
    updated = (await ga.until("session.updated"))[-1]["session"]
    assert updated["audio"]["input"]["turn_detection"]["idle_timeout_ms"] == 5000
    await ga.send({"type": "response.create", "response": {"instructions": 'Say "Hello, how can I help?"'}})
    done = (await ga.until("response.done"))[-1]["response"]
    played_ms = 1000  # (the greeting is shorter; the silence counts from where it finished)
    await ga.append(silence("pcm16", 3000))  # not yet
    await ga.append(silence("pcm16", 4000))
    events = await ga.until("response.done")
    names = types(events)
    assert names.count("input_audio_buffer.timeout_triggered") == 1, names
    fired = next(e for e in events if e["type"] == "input_audio_buffer.timeout_triggered")
    assert 5000 <= fired["audio_end_ms"] - fired["audio_start_ms"] <= 5200, fired
    assert fired["audio_start_ms"] >= played_ms
    committed = next(e for e in events if e["type"] == "input_audio_buffer.committed")
    assert committed["item_id"] == fired["item_id"]
    said = events[-1]["response"]["output"][0]["content"][0]["transcript"]
    assert said == "Are you still there?", said
    assert done["status"] == "completed"


async def test_speech_before_the_timeout_keeps_it_from_firing(ga: RawClient) -> None:
    await ga.send({"type": "session.update", "session": session(5000)})
    await ga.until("session.updated")
    await ga.send({"type": "response.create", "response": {"instructions": 'Say "Hello."'}})
    await ga.until("response.done")
    await ga.append(silence("pcm16", 3000) + phone_pcm("What are your opening hours?", 24000) + silence("pcm16", 1000))
    events = await ga.until("response.done")
    assert "input_audio_buffer.timeout_triggered" not in types(events)
    assert "input_audio_buffer.speech_started" in types(events)


async def test_an_idle_timeout_outside_the_apis_bounds_is_refused_by_name(ga: RawClient) -> None:
    await ga.send({"type": "session.update", "session": session(1000), "event_id": "evt_9"})
    error = (await ga.until("error"))[-1]["error"]
    assert error["param"] == "session.audio.input.turn_detection.idle_timeout_ms" and error["event_id"] == "evt_9"
