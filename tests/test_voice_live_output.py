"""Voice Live's shaping of the spoken reply on our engine: word timestamps (response.audio_timestamp.*)
where the words are in the audio, visemes (response.animation_viseme.*) before the audio they belong
to, the voice's rate and pitch, and what the engine cannot do refused by name."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from typing import Any

import pytest

import bot.engine.runtime as engine_runtime
from bot.audio.level import rms
from bot.engine.runtime import EngineRuntime
from bot.engine.speech.aligned_voice import AlignedVoice
from tests.audio import median_pitch_hz
from tests.client import RawClient, audio_of
from tests.engine_setup import connect, serve_engine

LINE = "Your order 4 5 7 2 1 ships on Friday, between nine and noon."


async def reply(client: RawClient, session: dict[str, Any]) -> list[dict[str, Any]]:
    await client.send({"type": "session.update", "session": session})
    await client.until("session.updated")
    await client.send({"type": "response.create", "response": {"instructions": f'Say "{LINE}"'}})
    return await client.until("response.done")


def voiced_ms(pcm: bytes, rate: int = 24000) -> tuple[float, float]:
    step = rate // 100 * 2  # 10 ms
    loud = [i for i in range(0, len(pcm) - step, step) if rms(pcm[i : i + step]) > 100]
    return loud[0] / step * 10, (loud[-1] / step + 1) * 10


async def test_word_timestamps_line_up_with_the_audio_and_visemes_come_before_it(beta: RawClient) -> None:
    events = await reply(beta, {"output_audio_timestamp_types": ["word"], "animation": {"outputs": ["viseme_id"]},
                                "voice": {"name": "en-US-AvaNeural", "type": "azure-standard"}})  # fmt: skip
    updated = next(e for e in beta.events if e["type"] == "session.updated")["session"]
    assert updated["output_audio_timestamp_types"] == ["word"] and updated["animation"] == {"outputs": ["viseme_id"]}
    words = [e for e in events if e["type"] == "response.audio_timestamp.delta"]
    said = events[-1]["response"]["output"][0]["content"][0]["transcript"]
    assert said == LINE
    assert [w["text"] for w in words] == [w.strip(".,") for w in LINE.split()], words
    assert all(w["timestamp_type"] == "word" and w["audio_duration_ms"] > 0 for w in words)
    pcm = audio_of(events, "pcm16")
    first, last = voiced_ms(pcm)
    assert abs(words[0]["audio_offset_ms"] - first) <= 60, (words[0], first)
    end = words[-1]["audio_offset_ms"] + words[-1]["audio_duration_ms"]
    assert abs(end - last) <= 60, (words[-1], last)
    for w in words:  # each word's span of the audio holds speech
        span = pcm[w["audio_offset_ms"] * 48 : (w["audio_offset_ms"] + w["audio_duration_ms"]) * 48]
        assert rms(span) > 300, w
    starts = [w["audio_offset_ms"] for w in words]
    assert starts == sorted(starts)
    # Visemes: each before the audio it belongs to has been sent.
    sent_ms, visemes = 0.0, 0
    for e in events:
        if e["type"] == "response.audio.delta":
            sent_ms += len(base64.b64decode(e["delta"])) / 48
        elif e["type"] == "response.animation_viseme.delta":
            visemes += 1
            assert 0 <= e["viseme_id"] <= 21 and e["audio_offset_ms"] >= sent_ms - 1, (e, sent_ms)
    assert visemes > len(words)
    names = [e["type"] for e in events]
    assert names.index("response.audio_timestamp.done") > names.index("response.audio.done")
    assert "response.animation_viseme.done" in names


async def test_the_voices_rate_changes_the_reply(beta: RawClient) -> None:
    plain = audio_of(await reply(beta, {"voice": {"name": "en-US-AvaNeural", "type": "azure-standard"}}), "pcm16")
    fast = audio_of(await reply(beta, {"voice": {"name": "en-US-AvaNeural", "type": "azure-standard", "rate": "+40%"}}),
                    "pcm16")  # fmt: skip
    assert len(fast) < len(plain) * 0.85, (len(fast), len(plain))


async def test_the_voices_pitch_moves_the_voice_and_keeps_its_pace(beta: RawClient) -> None:
    """pitch "+25%" (an SSML prosody value): the reply's fundamental 25 % higher (within 8 %), its length
    within 15 % of the plain reply's; "-3st" lowers it by three semitones."""
    voice = {"name": "en-US-AvaNeural", "type": "azure-standard"}
    plain = audio_of(await reply(beta, {"voice": voice}), "pcm16")
    high = audio_of(await reply(beta, {"voice": {**voice, "pitch": "+25%"}}), "pcm16")
    low = audio_of(await reply(beta, {"voice": {**voice, "pitch": "-3st"}}), "pcm16")
    base = median_pitch_hz(plain)
    assert abs(median_pitch_hz(high) / base - 1.25) < 0.08, (base, median_pitch_hz(high))
    assert abs(median_pitch_hz(low) / base - 2 ** (-3 / 12)) < 0.08, (base, median_pitch_hz(low))
    assert abs(len(high) / len(plain) - 1) < 0.15 and abs(len(low) / len(plain) - 1) < 0.15


async def test_the_voices_volume_sets_the_replys_loudness(beta: RawClient) -> None:
    """volume "-6dB" halves the reply's level (within 15 %) against "default", "soft" makes it quieter
    still; its length stays."""
    voice = {"name": "en-US-AvaNeural", "type": "azure-standard"}
    plain = audio_of(await reply(beta, {"voice": {**voice, "volume": "default"}}), "pcm16")
    half = audio_of(await reply(beta, {"voice": {**voice, "volume": "-6dB"}}), "pcm16")
    soft = audio_of(await reply(beta, {"voice": {**voice, "volume": "soft"}}), "pcm16")
    assert abs(rms(half) / rms(plain) - 10 ** (-6 / 20)) < 0.15 * 10 ** (-6 / 20), (rms(plain), rms(half))
    assert rms(soft) < rms(plain) * 0.8 and abs(len(half) / len(plain) - 1) < 0.15, (rms(plain), rms(soft))


@pytest.mark.parametrize(
    ("session", "param"),
    [
        ({"animation": {"outputs": ["blendshapes"]}}, "session.animation.outputs"),
        ({"output_audio_timestamp_types": ["sentence"]}, "session.output_audio_timestamp_types"),
        ({"voice": {"name": "en-US-AvaNeural", "rate": "warp speed"}}, "session.voice.rate"),
    ],
)
async def test_what_the_engine_cannot_do_is_refused_by_name(
    beta: RawClient, session: dict[str, Any], param: str
) -> None:
    await beta.send({"type": "session.update", "session": session, "event_id": "evt_1"})
    error = (await beta.until("error"))[-1]["error"]
    assert error["param"] == param and error["event_id"] == "evt_1", error


async def test_a_session_asking_for_word_timings_has_the_voice_that_gives_them_loading_before_its_first_reply(
    runtime: EngineRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The voice that knows where its words are takes seconds to load: a session that asks for word
    timestamps starts it loading at its session.update, not at its first reply; it loads once."""
    loads: list[int] = []
    real_load = engine_runtime._load_aligned

    def counted() -> AlignedVoice:
        loads.append(1)
        return real_load()

    monkeypatch.setattr(engine_runtime, "_load_aligned", counted)
    unloaded = dataclasses.replace(runtime, _aligned=None, _aligning=asyncio.Lock(), _aligned_job=None)
    async with serve_engine(unloaded) as url, connect(url, dialect="beta") as client:
        await client.send({"type": "session.update", "session": {"output_audio_timestamp_types": ["word"]}})
        await client.until("session.updated")
        for _ in range(300):  # (no reply asked for: it starts by itself)
            if loads:
                break
            await asyncio.sleep(0.1)
        assert loads, "the aligned voice did not start loading at the session.update"
        await client.send({"type": "response.create", "response": {"instructions": f'Say "{LINE}"'}})
        events = await client.until("response.done")
    assert any(e["type"] == "response.audio_timestamp.delta" for e in events)
    assert loads == [1]
