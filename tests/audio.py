"""Test audio made with our own TTS and passed through a real phone channel (8 kHz, G.711 mu-law), and
measures of audio (its pitch)."""

from __future__ import annotations

import functools

import numpy as np

from bot.audio import g711
from bot.audio.resample import resample_once
from bot.engine.asr import Transcriber
from bot.engine.tts import PiperVoice

# What contact-center callers say (bench/asr.py measures word error rate on these).
CALLER_SENTENCES = [
    "What are your opening hours, please?", "Where is my order 4 5 7 2 1, please?", "Can I return something I bought?",
    "What is my balance on account 7 7 3 1?", "Do you charge for shipping?", "Hello there.",
    "I want to track my package.", "When are you open on Friday?", "Thank you very much.",
    "How long do I have to return an item?", "Is shipping free?", "Has my order 3 3 8 1 2 shipped yet?",
    "What time do you close?", "Hi, good morning.", "I'd like to check my balance.", "Can I send back a product?",
    "Goodbye.", "Uh huh.", "Yeah.", "Okay.", "No, that's all, thanks.", "Yes, please.",
    "I want to book an appointment.", "How do I reset my voicemail pin?", "Can I speak to a person?",
    "My phone number is 5 5 5 0 1 0 0.", "The code is 3 8 1 9 0.", "My account number is 7 2 4 4.",
    "I was charged twice for the same order and I would like a refund.",
    "My internet has been down since yesterday morning and nobody called me back.",
    "Can you move my appointment to next Tuesday afternoon?",
    "I need to update the billing address on my account.",
    "The package arrived damaged, the box was completely crushed.",
    "I'd like to cancel my subscription at the end of this month.",
    "What is the status of my refund?", "Could you repeat that, please?",
    "I didn't receive a confirmation email.", "Is there a store near me that is open on Sunday?",
    "Please transfer me to the billing department.", "I moved last week and need to change my address.",
    "My card number ends in 4 4 1 9.", "The router keeps blinking orange.",
    "Can I pay my bill with a credit card over the phone?", "Why is my bill higher than last month?",
    "I'm calling about order number 9 0 1 2 3.", "Sorry, I meant Wednesday, not Tuesday.",
    "Hello, I have a question about my last invoice, there is a charge I don't recognise.",
    "Actually, never mind, I found it.",
]  # fmt: skip


@functools.cache
def voice() -> PiperVoice:
    return PiperVoice()


@functools.cache
def transcriber() -> Transcriber:
    return Transcriber()


@functools.cache
def phone_ulaw(text: str) -> bytes:
    """`text` spoken by piper, band-limited to 8 kHz and mu-law encoded, as a phone line carries it."""
    v = voice()
    return g711.pcm16_to_ulaw(resample_once(v.synthesize(text, vary=False), v.sample_rate, 8000))


def phone_pcm(text: str, rate: int) -> bytes:
    """The phone-band utterance decoded and resampled to `rate` pcm16 (what a gateway sends an engine)."""
    return resample_once(g711.ulaw_to_pcm16(phone_ulaw(text)), 8000, rate)


def silence(fmt: str, ms: int) -> bytes:
    if fmt == "g711_ulaw":
        return b"\xff" * (8 * ms)
    rate = {"pcm16": 24000, "pcm16_16000hz": 16000, "pcm16_8000hz": 8000}[fmt]
    return bytes(rate // 1000 * 2 * ms)


def transcribe(pcm: bytes, rate: int) -> str:
    """What our ASR hears in pcm16 audio at `rate`."""
    return transcriber().transcribe(resample_once(pcm, rate, 16000))


def median_pitch_hz(pcm: bytes, rate: int = 24000) -> float:
    """The voice's fundamental: the autocorrelation peak (60-400 Hz) of each loud 40 ms frame, median."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    n, lo, hi = rate // 25, rate // 400, rate // 60
    found = []
    for start in range(0, len(x) - n, n):
        frame = x[start : start + n] - x[start : start + n].mean()
        if np.sqrt((frame**2).mean()) < 800:
            continue
        ac = np.correlate(frame, frame, "full")[n - 1 :]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.4 * ac[0]:  # (a voiced frame)
            found.append(rate / lag)
    return float(np.median(found))
