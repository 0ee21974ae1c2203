"""The engine as an offline Azure Speech container, driven by the real Speech SDK
(azure-cognitiveservices-speech, its native USP client) pointed at it with SpeechConfig(host=...):
phone utterances recognised (partial and final text, continuous with a phrase list), sentences
synthesised with word boundaries and visemes where the audio has them, and refusals by name.
The SDK blocks, so it runs in a thread while the engine serves on the test's loop."""

from __future__ import annotations

import asyncio
import json
import re
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import azure.cognitiveservices.speech as speechsdk
import pytest

from bot.audio import g711
from bot.audio.level import rms
from bot.engine.runtime import EngineRuntime
from tests.audio import phone_pcm
from tests.engine_setup import serve_engine

QUESTION = "Hi, um, so I'm calling to check on my order, it's 3 8 1 9 0."
FOLLOW_UP = "Oh, and, uh, can you send the invoice to Contoso instead?"


@pytest.fixture
async def host(runtime: EngineRuntime) -> AsyncIterator[str]:
    async with serve_engine(runtime) as url:
        yield url.replace("http://", "ws://")


def push_stream(pcm8k: bytes) -> tuple[speechsdk.audio.AudioConfig, speechsdk.audio.PushAudioInputStream]:
    fmt = speechsdk.audio.AudioStreamFormat(samples_per_second=8000, bits_per_sample=16, channels=1)
    stream = speechsdk.audio.PushAudioInputStream(fmt)
    return speechsdk.audio.AudioConfig(stream=stream), stream


def feed(stream: speechsdk.audio.PushAudioInputStream, pcm: bytes, real_time: bool = False) -> None:
    """8 kHz pcm16 in 200 ms chunks: at once, or each when it would have been spoken."""
    start = time.monotonic()
    for n, at in enumerate(range(0, len(pcm), 3200)):
        stream.write(pcm[at : at + 3200])
        if real_time:
            time.sleep(max(0.0, start + (n + 1) * 0.2 - time.monotonic()))
    stream.close()


def words(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower())


async def test_the_speech_sdk_recognises_a_phone_utterance_once(host: str) -> None:
    """recognize_once over a phone-band utterance said in real time: partial results while it is said,
    then the final text, offsets in 100 ns ticks from the start of the stream."""
    lead = bytes(8000 * 2 // 2)  # 0.5 s of silence before the caller speaks
    audio = lead + phone_pcm(QUESTION, 8000) + bytes(8000 * 2)
    config, stream = push_stream(audio)
    recognizer = speechsdk.SpeechRecognizer(speechsdk.SpeechConfig(host=host), audio_config=config)
    partials: list[str] = []
    recognizer.recognizing.connect(lambda e: partials.append(e.result.text))
    threading.Thread(target=feed, args=(stream, audio, True), daemon=True).start()
    result = await asyncio.to_thread(lambda: recognizer.recognize_once_async().get())
    assert result.reason == speechsdk.ResultReason.RecognizedSpeech, result.cancellation_details
    heard = words(result.text)
    assert "order" in heard and "38190" in heard.replace(" ", ""), result.text
    assert partials and all(isinstance(p, str) for p in partials), partials
    assert 400 <= result.offset / 10_000 <= 700, result.offset  # speech starts 0.5 s in
    assert result.duration / 10_000 > 2000, result.duration


@dataclass
class Heard:
    finals: list[str] = field(default_factory=list)
    cancelled: list[tuple[Any, str]] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)


async def test_continuous_recognition_with_a_phrase_list_hears_each_turn_and_ends_with_the_stream(host: str) -> None:
    config_, stream = push_stream(b"")
    audio = phone_pcm(QUESTION, 8000) + bytes(8000 * 2) + phone_pcm(FOLLOW_UP, 8000) + bytes(8000 * 2)
    config = speechsdk.SpeechConfig(host=host)
    config.set_property(speechsdk.PropertyId.Speech_SegmentationSilenceTimeoutMs, "700")
    recognizer = speechsdk.SpeechRecognizer(config, audio_config=config_)
    speechsdk.PhraseListGrammar.from_recognizer(recognizer).addPhrase("Contoso")
    heard = Heard()
    recognizer.recognized.connect(
        lambda e: (
            heard.finals.append(e.result.text) if e.result.reason == speechsdk.ResultReason.RecognizedSpeech else None
        )
    )
    recognizer.canceled.connect(
        lambda e: heard.cancelled.append((e.cancellation_details.reason, e.cancellation_details.error_details))
    )
    recognizer.session_stopped.connect(lambda e: heard.stopped.set())
    await asyncio.to_thread(lambda: recognizer.start_continuous_recognition_async().get())
    await asyncio.to_thread(feed, stream, audio)
    assert await asyncio.to_thread(heard.stopped.wait, 30), heard
    await asyncio.to_thread(lambda: recognizer.stop_continuous_recognition_async().get())
    assert len(heard.finals) == 2, heard.finals
    assert "order" in words(heard.finals[0]) and "send" in words(heard.finals[1]), heard.finals
    assert "contoso" in words(heard.finals[1]), heard.finals  # (the phrase list's spelling)
    # The only cancellation is the SDK's own report that the stream ended (no error from us).
    assert [reason for reason, _ in heard.cancelled] == [speechsdk.CancellationReason.EndOfStream], heard.cancelled


async def test_semantic_segmentation_holds_a_phrase_through_a_pause_where_it_is_unfinished(host: str) -> None:
    """The SDK's semantic segmentation (Speech_SegmentationStrategy "Semantic"): a pause after "my
    account number is" does not end the phrase, where the service's default 600 ms silence does; a
    long pause after the digits does."""
    said = (phone_pcm("Yeah so my account number is", 8000) + bytes(int(8000 * 2 * 0.9))
            + phone_pcm("four four seven two.", 8000) + bytes(8000 * 2 * 3)
            + phone_pcm("And I'd like to pay my bill.", 8000) + bytes(8000 * 2))  # fmt: skip

    async def phrases(**properties: str) -> list[str]:
        config_, stream = push_stream(b"")
        config = speechsdk.SpeechConfig(host=host)
        for name, value in properties.items():
            config.set_property(getattr(speechsdk.PropertyId, name), value)
        recognizer = speechsdk.SpeechRecognizer(config, audio_config=config_)
        heard = Heard()
        recognizer.recognized.connect(lambda e: heard.finals.append(e.result.text) if e.result.text else None)
        recognizer.session_stopped.connect(lambda e: heard.stopped.set())
        await asyncio.to_thread(lambda: recognizer.start_continuous_recognition_async().get())
        await asyncio.to_thread(feed, stream, said)
        assert await asyncio.to_thread(heard.stopped.wait, 30), heard
        await asyncio.to_thread(lambda: recognizer.stop_continuous_recognition_async().get())
        return heard.finals

    semantic = await phrases(Speech_SegmentationStrategy="Semantic")
    assert len(semantic) == 2, semantic
    assert "account number is" in words(semantic[0]) and "4472" in words(semantic[0]).replace(" ", ""), semantic
    assert "pay my bill" in words(semantic[1]), semantic
    assert len(await phrases()) == 3  # (the default: the pause before the digits ends a phrase)


async def test_a_language_the_offline_models_lack_is_refused_by_name(host: str) -> None:
    config, stream = push_stream(b"")
    stream.close()
    recognizer = speechsdk.SpeechRecognizer(speechsdk.SpeechConfig(host=host, speech_recognition_language="fr-FR"),
                                            audio_config=config)  # fmt: skip
    result = await asyncio.to_thread(lambda: recognizer.recognize_once_async().get())
    assert result.reason == speechsdk.ResultReason.Canceled
    assert result.cancellation_details.reason == speechsdk.CancellationReason.Error


async def settled(count: Callable[[], int], quiet_s: float = 0.3, limit_s: float = 5.0) -> None:
    """Until the SDK's events stop coming: the result's future resolves while its event thread may
    still be calling back (CI saw the last two word boundaries arrive after it)."""
    loop = asyncio.get_running_loop()
    start = last_change = loop.time()
    seen = count()
    while loop.time() - last_change < quiet_s and loop.time() - start < limit_s:
        await asyncio.sleep(0.02)
        if (now := count()) != seen:
            seen, last_change = now, loop.time()


def voiced_span_ms(pcm: bytes, rate: int) -> tuple[float, float]:
    """First and last 10 ms frame of speech in pcm16 audio."""
    step = rate // 100 * 2
    loud = [i for i in range(0, len(pcm) - step, step) if rms(pcm[i : i + step]) > 100]
    return loud[0] / step * 10, (loud[-1] / step + 1) * 10


async def test_the_speech_sdk_synthesises_with_word_boundaries_where_the_audio_has_the_words(host: str) -> None:
    config = speechsdk.SpeechConfig(host=host)
    config.set_speech_synthesis_output_format(speechsdk.SpeechSynthesisOutputFormat.Raw16Khz16BitMonoPcm)
    synthesizer = speechsdk.SpeechSynthesizer(config, audio_config=None)
    boundaries: list[tuple[str, float, float]] = []
    visemes: list[tuple[int, float]] = []
    synthesizer.synthesis_word_boundary.connect(
        lambda e: (
            boundaries.append((e.text, e.audio_offset / 10_000, e.duration.total_seconds() * 1000))
            if e.boundary_type == speechsdk.SpeechSynthesisBoundaryType.Word
            else None
        )
    )
    synthesizer.viseme_received.connect(lambda e: visemes.append((e.viseme_id, e.audio_offset / 10_000)))
    text = "Your balance is 120 dollars. It's due on Friday."
    result = await asyncio.to_thread(lambda: synthesizer.speak_text_async(text).get())
    assert result.reason == speechsdk.ResultReason.SynthesizingAudioCompleted, result.cancellation_details
    await settled(lambda: len(boundaries) + len(visemes))  # (the SDK's event thread may still be delivering)
    audio = result.audio_data
    length_ms = len(audio) / 32
    assert length_ms > 1500
    assert [w for w, _, _ in boundaries] == ["Your", "balance", "is", "120", "dollars", "It's", "due", "on", "Friday"]
    starts = [start for _, start, _ in boundaries]
    assert starts == sorted(starts) and starts[-1] + boundaries[-1][2] <= length_ms + 1
    first, last = voiced_span_ms(audio, 16000)
    assert abs(starts[0] - first) <= 60, (starts[0], first)  # the first word where the speech begins
    assert abs(starts[-1] + boundaries[-1][2] - last) <= 60, (boundaries[-1], last)  # the last where it ends
    for word, start, duration in boundaries:  # every word has speech in it
        assert rms(audio[int(start) * 32 : int(start + duration) * 32]) > 300, (word, start, duration)
    assert visemes and all(0 <= v <= 21 for v, _ in visemes), visemes
    assert [t for _, t in visemes] == sorted(t for _, t in visemes)


async def test_ssml_prosody_and_a_break_shape_the_audio_and_its_timings(host: str) -> None:
    config = speechsdk.SpeechConfig(host=host)
    config.set_speech_synthesis_output_format(speechsdk.SpeechSynthesisOutputFormat.Raw8Khz8BitMonoMULaw)
    synthesizer = speechsdk.SpeechSynthesizer(config, audio_config=None)
    boundaries: list[tuple[str, float]] = []
    synthesizer.synthesis_word_boundary.connect(lambda e: boundaries.append((e.text, e.audio_offset / 10_000)))

    async def say(rate: str) -> bytes:
        boundaries.clear()
        ssml = ("<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='en-US'>"
                f"<voice name='en-US-AvaNeural'><prosody rate='{rate}'>Thanks for waiting.</prosody>"
                "<break time='600ms'/>Your order shipped today.</voice></speak>")  # fmt: skip
        result = await asyncio.to_thread(lambda: synthesizer.speak_ssml_async(ssml).get())
        assert result.reason == speechsdk.ResultReason.SynthesizingAudioCompleted, result.cancellation_details
        await settled(lambda: len(boundaries))  # (the SDK's event thread may still be delivering)
        return bytes(result.audio_data)

    slow = await say("-30%")
    assert "order" in dict(boundaries), boundaries
    slow_order = dict(boundaries)["order"]
    fast = await say("+40%")
    fast_order = dict(boundaries)["order"]
    assert len(slow) > len(fast) + 8 * 300  # (8 kHz mu-law: a byte per sample)
    assert fast_order < slow_order
    stop = next(at for word, at in boundaries if word == ".")  # the end of "Thanks for waiting."
    assert fast_order - stop >= 600  # the break sits between them
    pcm = g711.ulaw_to_pcm16(fast)
    assert rms(pcm[int(stop + 100) * 16 : int(stop + 550) * 16]) < 30  # silence inside the break


async def usp_request(host: str, context: dict[str, Any], ssml: str) -> list[tuple[str, Any]]:
    """One synthesis over a plain WebSocket: (path, JSON body or audio bytes) as they came."""
    rid = "0123456789abcdef0123456789abcdef"
    got: list[tuple[str, Any]] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{host}/cognitiveservices/websocket/v1") as ws:
        await ws.send_str(f"Path:synthesis.context\r\nX-RequestId:{rid}\r\n\r\n{json.dumps(context)}")
        await ws.send_str(f"Path:ssml\r\nX-RequestId:{rid}\r\nContent-Type:application/ssml+xml\r\n\r\n{ssml}")
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                head, _, body = msg.data.partition("\r\n\r\n")
                path = re.search(r"Path:([\w.]+)", head)
                got.append((path.group(1) if path else "", json.loads(body) if body else None))
                if got[-1][0] == "turn.end":
                    break
            elif msg.type == aiohttp.WSMsgType.BINARY:
                size = struct.unpack(">H", msg.data[:2])[0]
                got.append(("audio", msg.data[2 + size :]))
        if not got or got[-1][0] != "turn.end":
            got.append(("closed", ws.close_code))
    return got


async def test_each_sentences_word_and_viseme_events_come_before_its_audio(host: str) -> None:
    context = {"synthesis": {"audio": {"outputFormat": "raw-8khz-8bit-mono-mulaw",
                                       "metadataOptions": {"wordBoundaryEnabled": True, "visemeEnabled": True}}}}  # fmt: skip
    ssml = "<speak version='1.0' xml:lang='en-US'><voice name='x'>Hello there. How can I help?</voice></speak>"
    got = await usp_request(host, context, ssml)
    assert got[0][0] == "turn.start" and got[-1][0] == "turn.end"
    heard_ms = 0.0
    for path, body in got:
        if path == "audio":
            heard_ms += len(body) / 8
        elif path == "audio.metadata":
            (item,) = body["Metadata"]
            assert item["Data"]["Offset"] / 10_000 >= heard_ms, (item, heard_ms)  # not yet played when it comes
    kinds = {item["Type"] for path, body in got if path == "audio.metadata" for item in body["Metadata"]}
    assert kinds == {"WordBoundary", "Viseme"}


async def test_ssml_that_is_not_xml_and_a_format_we_lack_close_the_connection_with_the_reason(host: str) -> None:
    got = await usp_request(host, {}, "<speak><voice>unclosed")
    assert got[-1] == ("closed", aiohttp.WSCloseCode.PROTOCOL_ERROR), got
    mp3 = {"synthesis": {"audio": {"outputFormat": "audio-24khz-48kbitrate-mono-mp3"}}}
    got = await usp_request(host, mp3, "<speak version='1.0' xml:lang='en-US'>Hello.</speak>")
    assert got[-1] == ("closed", aiohttp.WSCloseCode.PROTOCOL_ERROR), got


async def test_the_detailed_format_gives_the_sdk_its_best_reading(host: str) -> None:
    config = speechsdk.SpeechConfig(host=host)
    config.output_format = speechsdk.OutputFormat.Detailed
    audio_config, stream = push_stream(b"")
    stream.write(phone_pcm("Yes, that's right, thank you.", 8000) + bytes(8000 * 2))
    stream.close()
    recognizer = speechsdk.SpeechRecognizer(config, audio_config=audio_config)
    result = await asyncio.to_thread(lambda: recognizer.recognize_once_async().get())
    assert result.reason == speechsdk.ResultReason.RecognizedSpeech, result.cancellation_details
    detail = json.loads(result.properties.get(speechsdk.PropertyId.SpeechServiceResponse_JsonResult))
    (best,) = detail["NBest"]
    assert best["Display"] == result.text and "right" in best["Lexical"] and "," not in best["Lexical"], detail
