"""The pure parts of the engine's Azure Speech container: USP framing, the SSML reader and the output
formats (the SDK itself drives the whole of it in tests/test_speech_container.py)."""

from __future__ import annotations

import pytest

from bot.engine.speech import usp
from bot.engine.speech.recognition import phrases_of, riff_format
from bot.engine.speech.ssml import SsmlError, parse, pitch_of, rate_of, volume_of
from bot.engine.speech.synthesis import OutputFormat


def test_text_and_binary_messages_round_trip() -> None:
    text = usp.text("speech.phrase", "ab" * 16, {"DisplayText": "Hi."})
    message = usp.parse_text(text)
    assert (message.path, message.request_id, message.json()) == ("speech.phrase", "ab" * 16, {"DisplayText": "Hi."})
    data = usp.binary("audio", "cd" * 16, b"\x01\x02")
    message = usp.parse_binary(data)
    assert (message.path, message.request_id, message.body) == ("audio", "cd" * 16, b"\x01\x02")


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x00", b"\xff\xffPath:audio\r\n", b"\x00\x05Pa\xffh:", b"\x00\x0cX-Other:1\r\n\r\n"],
)
def test_binary_messages_that_are_not_usp_are_refused_by_reason(bad: bytes) -> None:
    with pytest.raises(usp.UspError):
        usp.parse_binary(bad)


def test_a_text_message_needs_a_path_and_its_blank_line() -> None:
    for bad in ("Path:speech.config", "X-RequestId:1\r\n\r\n{}", "no colon\r\n\r\n{}"):
        with pytest.raises(usp.UspError):
            usp.parse_text(bad)


def test_the_riff_header_gives_the_streams_format() -> None:
    import struct

    header = b"RIFF" + struct.pack("<I", 0) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    assert riff_format(header + b"data" + struct.pack("<I", 0)) == (8000, 16, 1)
    with pytest.raises(usp.UspError):
        riff_format(b"not a wave header at all, no sir....")


def test_the_phrase_list_is_read_from_the_sdks_dgi_groups() -> None:
    context = {"dgi": {"Groups": [{"Type": "Generic", "Items": [{"Text": "Contoso"}, {"Text": " Globex "}, {}]}]}}
    assert phrases_of(context) == ("Contoso", "Globex")
    assert phrases_of({}) == ()


def test_ssml_prosody_breaks_and_nested_elements() -> None:
    speech = parse(
        "<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xmlns:mstts='http://www.w3.org/2001/mstts' "
        "xml:lang='en-US'><voice name='en-US-AvaNeural'><mstts:express-as style='cheerful'>Hi there!</mstts:express-as>"
        "<prosody rate='+50%' volume='loud'>Your total is <say-as interpret-as='cardinal'>42</say-as> dollars."
        "</prosody><break time='300ms'/>Bye.</voice></speak>"
    )
    assert speech.voice == "en-US-AvaNeural" and speech.language == "en-US"
    assert [(p.text, p.rate, p.break_ms) for p in speech.pieces] == [
        ("Hi there!", 1.0, 0), ("Your total is", 1.5, 0), ("42", 1.5, 0), ("dollars.", 1.5, 0), ("", 1.0, 300), ("Bye.", 1.0, 0),
    ]  # fmt: skip
    assert speech.pieces[1].volume > 1.0


def test_prosody_values() -> None:
    assert rate_of("slow", 1.0) == 0.75 and rate_of("-20%", 1.0) == pytest.approx(0.8) and rate_of("1.3", 1.0) == 1.3
    assert rate_of("nonsense", 1.1) == 1.1
    assert volume_of("+6dB", 1.0) == pytest.approx(1.995, rel=0.01) and volume_of("50", 1.0) == 0.5
    assert volume_of("silent", 1.0) == 0.0
    assert pitch_of("high", 1.0) == 1.1 and pitch_of("+10%", 1.0) == pytest.approx(1.1)
    assert pitch_of("-12st", 1.0) == 0.5 and pitch_of("+2st", 1.0) == pytest.approx(1.1225, rel=0.001)
    assert pitch_of("+22Hz", 1.0) == pytest.approx(1.2) and pitch_of("55Hz", 1.0) == 0.5
    assert pitch_of("+300%", 1.0) == 2.0 and pitch_of("shrill", 0.9) == 0.9  # (kept in range; unknown: as it was)
    nested = parse("<speak><prosody pitch='+20%'>Up <prosody pitch='low'>down</prosody></prosody> plain</speak>")
    assert [(p.text, p.pitch) for p in nested.pieces] == [("Up", pytest.approx(1.2)), ("down", 0.9), ("plain", 1.0)]


def test_ssml_that_is_not_speak_or_not_xml_is_refused() -> None:
    for bad in ("<speak>unclosed", "<p>Hello</p>", "<speak>" + "a" * 70_000 + "</speak>"):
        with pytest.raises(SsmlError):
            parse(bad)


def test_output_formats_by_the_sdks_names() -> None:
    assert OutputFormat.named("raw-8khz-8bit-mono-mulaw") == OutputFormat(
        "raw-8khz-8bit-mono-mulaw", False, 8000, "mulaw"
    )
    assert OutputFormat.named("riff-24khz-16bit-mono-pcm").riff
    assert OutputFormat.named("raw-22050hz-16bit-mono-pcm").rate == 22050
    header = OutputFormat.named("riff-16khz-16bit-mono-pcm").riff_header()
    assert riff_format(header) == (16000, 16, 1)
    for missing in ("audio-24khz-48kbitrate-mono-mp3", "raw-16khz-8bit-mono-mulaw", "raw-11khz-16bit-mono-pcm"):
        with pytest.raises(usp.UspError):
            OutputFormat.named(missing)


async def test_the_phrase_audio_reaches_back_before_the_detected_start() -> None:
    """The detector decides a few frames into the speech; the recogniser gets those frames and a
    200 ms lead-in too (the phrase's first sound was once cut off), while the offsets stay the start's."""
    import json
    import struct

    from bot.engine.speech.recognition import RecognitionSession
    from tests.audio import phone_pcm

    sent: list[str] = []
    heard: list[bytes] = []

    async def send(text: str) -> None:
        sent.append(text)

    async def transcribe(pcm: bytes, phrases: tuple[str, ...], language: str) -> str:
        heard.append(pcm)
        return "Hi there."

    session = RecognitionSession(send, transcribe, "interactive", {"language": "en-US"})
    header = b"RIFF" + struct.pack("<I", 0) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    audio = bytes(16000) + phone_pcm("Hi there, I have a question about my bill.", 16000) + bytes(32000)
    rid = "ab" * 16
    await session.on_binary(usp.parse_binary(usp.binary("audio", rid, header + b"data" + struct.pack("<I", 0))))
    for at in range(0, len(audio), 3200):
        await session.on_binary(usp.parse_binary(usp.binary("audio", rid, audio[at : at + 3200])))
    phrase = next(json.loads(t.split("\r\n\r\n", 1)[1]) for t in sent if "Path:speech.phrase" in t)
    start_ms, duration_ms = phrase["Offset"] / 10_000, phrase["Duration"] / 10_000
    assert 400 <= start_ms <= 600, phrase  # the speech starts 0.5 s in
    assert len(heard[-1]) / 32 >= duration_ms + 180, (len(heard[-1]) / 32, duration_ms)
