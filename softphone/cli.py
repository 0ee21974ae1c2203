"""The `voicebot call` command: place a call with the softphone and print what the bot said."""

from __future__ import annotations

import json
import re
import wave
from pathlib import Path

import numpy as np

from bot.audio.frames import LINE_RATE as RATE
from bot.audio.resample import resample_once
from softphone.phone import CallReport, LineEcho, Softphone, Utterance, write_wav

_OVER = re.compile(r"@(\d+):(.*)", re.S)


def cough(seed: int = 7) -> bytes:
    """A cough as a phone carries it: a 250 ms burst of band-limited noise, sharp attack, quick decay."""
    rng = np.random.default_rng(seed)
    n = RATE // 4
    t = np.arange(n) / RATE
    noise = np.convolve(rng.normal(0.0, 1.0, n), np.ones(3) / 3, mode="same")  # a little less hiss
    envelope = (1 - np.exp(-t / 0.008)) * np.exp(-t / 0.07)
    burst = noise * envelope
    pcm: bytes = (burst / np.abs(burst).max() * 12000).astype(np.int16).tobytes()
    return pcm + bytes(RATE // 10 * 2)


def _utterances(say: list[str] | None, wav: Path | None) -> list[Utterance]:
    if wav is not None:
        with wave.open(str(wav)) as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise SystemExit(f"{wav}: need mono 16-bit PCM")
            return [Utterance(wav.name, resample_once(w.readframes(w.getnframes()), w.getframerate(), 8000))]
    from bot.engine.tts import PiperVoice

    voice = PiperVoice()
    out = []
    for spec in say or []:
        over = _OVER.fullmatch(spec)
        text, at = (over.group(2), int(over.group(1))) if over else (spec, None)
        pcm = (
            cough() if text == "*cough*" else resample_once(voice.synthesize(text, vary=False), voice.sample_rate, 8000)
        )
        out.append(Utterance(text, pcm, at))
    return out


def transcribe_report(report: CallReport) -> None:
    from bot.engine.asr import Transcriber

    asr = Transcriber()
    report.greeting_text = asr.transcribe(resample_once(report.greeting_pcm, 8000, 16000))
    for turn in report.turns:
        turn.bot_text = asr.transcribe(resample_once(turn.bot_pcm, 8000, 16000))


async def run_call(uri: str, say: list[str] | None, wav: Path | None, record: Path | None, caller: str,
                   echo: LineEcho | None = None, srtp: bool = False) -> int:  # fmt: skip
    """Exit status 0 only if the call connected and the bot answered with audio."""
    utterances = _utterances(say, wav)
    phone = Softphone(caller=caller, echo=echo, tls="transport=tls" in uri.lower(), srtp=srtp)
    try:
        report = await phone.call(uri, utterances)
    finally:
        await phone.close()
    if record is not None:
        write_wav(record, report.recording)
    transcribe_report(report)
    print(f"connected: {report.connected}")
    print(f"bot: {report.greeting_text}")
    for turn in report.turns:
        latency = f"{turn.latency_ms:.0f} ms" if turn.latency_ms is not None else "no answer"
        print(f"you: {turn.said}")
        print(f"bot ({latency}): {turn.bot_text}")
    figures = {"call_id": report.call_id, "connected": report.connected, "bot_answered": report.bot_answered, "greeting": report.greeting_text,
               "latency_ms": [t.latency_ms for t in report.turns], "bot": [t.bot_text for t in report.turns],
               "keys_heard": report.keys_heard, "srtp": report.srtp}  # fmt: skip
    print(json.dumps(figures))
    return 0 if report.bot_answered else 1
