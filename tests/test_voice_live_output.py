"""Voice Live's shaping of the spoken reply on our engine: word timestamps (response.audio_timestamp.*)
where the words are in the audio, visemes (response.animation_viseme.*) before the audio they belong
to, the voice's rate and pitch, and what the engine cannot do refused by name."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from bot.audio.level import rms
from tests.audio import median_pitch_hz
from tests.client import RawClient, audio_of

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
