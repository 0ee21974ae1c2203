"""TTS warm-up yields to replies: it waits for the TTS lane and for the asking session, on events."""

from __future__ import annotations

import asyncio
import threading

from bot.audio.formats import AudioFormat
from bot.engine.echo_cancel import ServerEchoCanceller
from bot.engine.echo_reference import EchoReference
from bot.engine.pool import InferencePool
from bot.engine.warmup import TtsWarmup


class RecordingVoices:
    """Voices that record what they synthesized, in order (the lane's one thread)."""

    def __init__(self, cached: tuple[str, ...] = ()) -> None:
        self.log: list[str] = []
        self._cached = set(cached)

    def cached(self, name: str, sentence: str) -> bool:
        return sentence in self._cached

    def synthesize(self, name: str, sentence: str) -> bytes:
        self.log.append(sentence)
        self._cached.add(sentence)
        return bytes(320)


async def test_warmup_waits_for_the_lane_and_for_every_reply_to_end() -> None:
    pool, voices = InferencePool(), RecordingVoices(cached=("Right.",))
    warmup = TtsWarmup(pool, voices, wait_s=10)
    replying = warmup.reply()  # a session's reply is running (between two of its sentences, say)
    replying.__enter__()
    release = threading.Event()

    def reply() -> None:
        release.wait(5)
        voices.log.append("(reply)")

    try:
        running = asyncio.ensure_future(pool.run("tts", reply))
        fill = asyncio.ensure_future(warmup.fill("alloy", ["Sure.", "Okay.", "Sure.", "Right."]))
        await asyncio.sleep(0)  # (it starts)
        assert await warmup.fill("alloy", ["Hello."]) == 0  # one session warms up at a time
        release.set()
        await running
        for _ in range(10):
            await asyncio.sleep(0)
        assert voices.log == ["(reply)"] and not pool.waiting("tts")  # the lane is free, the reply is not over
        replying.__exit__(None, None, None)
        assert await fill == 2
        assert voices.log == ["(reply)", "Sure.", "Okay."]  # each once; the cached one not at all
    finally:
        pool.close()


async def test_warmup_gives_up_on_an_engine_that_stays_busy() -> None:
    pool, voices = InferencePool(), RecordingVoices()
    try:
        warmup = TtsWarmup(pool, voices, wait_s=0.2)
        with warmup.reply():  # a reply that outlasts the warm-up's patience
            assert await warmup.fill("alloy", ["Sure."]) == 0
        assert voices.log == []
    finally:
        pool.close()


def test_echo_reference_is_the_sent_audio_at_the_cancellers_rate_whatever_the_format() -> None:
    """1 s of reply audio with room for 100 ms ahead of the input clock: about 900 ms dropped (less
    the resampler's delay), in G.711 and in 24 kHz pcm16 alike: each decoded once, to 16 kHz."""
    for fmt, wire in ((AudioFormat("g711_ulaw", 8000), b"\xff" * 8000), (AudioFormat("pcm16", 24000), bytes(48000))):
        canceller = ServerEchoCanceller(max_ahead_ms=100)
        reference = EchoReference(canceller, fmt)
        for i in range(10):  # as a reply's chunks arrive
            reference.sent("item_1", wire[i * len(wire) // 10 : (i + 1) * len(wire) // 10])
        assert 850 <= canceller.dropped_ms <= 900, (fmt, canceller.dropped_ms)
        reference.close()
