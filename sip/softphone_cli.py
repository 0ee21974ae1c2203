"""The `voicebot call` command: place a call with the softphone and print what the bot said."""

from __future__ import annotations

import json
import wave
from pathlib import Path

from bot.audio.resample import resample_once
from sip.softphone import CallReport, Softphone, write_wav


def _utterances(say: list[str] | None, wav: Path | None) -> list[tuple[str, bytes]]:
    if wav is not None:
        with wave.open(str(wav)) as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise SystemExit(f"{wav}: need mono 16-bit PCM")
            return [(wav.name, resample_once(w.readframes(w.getnframes()), w.getframerate(), 8000))]
    from bot.engine.tts import PiperVoice

    voice = PiperVoice()
    return [(text, resample_once(voice.synthesize(text), voice.sample_rate, 8000)) for text in say or []]


def transcribe_report(report: CallReport) -> None:
    from bot.engine.asr import Transcriber

    asr = Transcriber()
    report.greeting_text = asr.transcribe(resample_once(report.greeting_pcm, 8000, 16000))
    for turn in report.turns:
        turn.bot_text = asr.transcribe(resample_once(turn.bot_pcm, 8000, 16000))


async def run_call(uri: str, say: list[str] | None, wav: Path | None, record: Path | None, caller: str) -> int:
    """Exit status 0 only if the call connected and the bot answered with audio."""
    utterances = _utterances(say, wav)
    phone = Softphone(caller=caller)
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
    figures = {"connected": report.connected, "bot_answered": report.bot_answered,
               "latency_ms": [t.latency_ms for t in report.turns]}  # fmt: skip
    print(json.dumps(figures))
    return 0 if report.bot_answered else 1
