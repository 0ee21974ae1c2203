"""The `voicebot call` and `voicebot answer` commands: place a call to the bot, or take one it
places, with the softphone; print what the far end said."""

from __future__ import annotations

import functools
import json
import re
import wave
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.audio.frames import LINE_RATE as RATE
from bot.audio.resample import resample_once

if TYPE_CHECKING:
    from bot.engine.asr import Transcriber

from softphone.phone import CallReport, LineEcho, Softphone, Utterance, write_wav

_OVER = re.compile(r"@(\d+):(.*)", re.S)
_IF_HEARD = re.compile(r"\?([^:]+):(.*)", re.S)


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
        over, cond = _OVER.fullmatch(spec), _IF_HEARD.fullmatch(spec)
        text, at = (over.group(2), int(over.group(1))) if over else (spec, None)
        if cond:
            text = cond.group(2)
        pcm = (
            cough() if text == "*cough*" else resample_once(voice.synthesize(text, vary=False), voice.sample_rate, 8000)
        )
        out.append(Utterance(text, pcm, at, cond.group(1) if cond else None))
    return out


@functools.cache
def _asr() -> Transcriber:
    """One recogniser per softphone process: for lines said when asked, and for the report."""
    from bot.engine.asr import Transcriber

    return Transcriber()


def _heard(pcm: bytes) -> str:
    """What our ASR hears in the far end's 8 kHz pcm16."""
    return _asr().transcribe(resample_once(pcm, 8000, 16000))


def _hearing(utterances: list[Utterance]) -> Callable[[bytes], str] | None:
    """Speech recognition of the far end, when an utterance waits to hear something (loaded before the call)."""
    if not any(u.if_heard for u in utterances):
        return None
    _asr()
    return _heard


def transcribe_report(report: CallReport) -> None:
    report.greeting_text = _heard(report.greeting_pcm)
    for turn in report.turns:
        turn.bot_text = _heard(turn.bot_pcm)


async def run_call(uri: str, say: list[str] | None, wav: Path | None, record: Path | None, caller: str,
                   echo: LineEcho | None = None, srtp: bool = False, end_silence_s: float = 1.2,
                   max_turn_s: float = 20.0) -> int:  # fmt: skip
    """Exit status 0 only if the call connected and the bot answered with audio."""
    utterances = _utterances(say, wav)
    phone = Softphone(caller=caller, echo=echo, tls="transport=tls" in uri.lower(), srtp=srtp,
                      end_silence_s=end_silence_s, hear=_hearing(utterances))  # fmt: skip
    try:
        report = await phone.call(uri, utterances, max_turn_s=max_turn_s)
    finally:
        await phone.close()
    return _report(report, record)


async def run_answer(port: int, say: list[str] | None, first: str | None, record: Path | None, wait_s: float,
                     ring_s: float, end_silence_s: float = 1.2, max_turn_s: float = 20.0) -> int:  # fmt: skip
    """Take one call on `port` (a callee, an agent). Exit status 0 only if the caller spoke to us."""
    utterances = _utterances(say, None)
    hello = _utterances([first], None)[0] if first else None
    phone = Softphone(port=port, caller="callee", end_silence_s=end_silence_s, hear=_hearing(utterances))
    print(f"listening: sip:callee@127.0.0.1:{port}", flush=True)
    try:
        report = await phone.answer(utterances, first=hello, wait_s=wait_s, ring_s=ring_s, max_turn_s=max_turn_s)
    finally:
        await phone.close()
    return _report(report, record)


def invite_headers(invite: str) -> dict[str, str]:
    """The X- headers of an INVITE as received (the context a transfer brings an agent)."""
    head = invite.split("\r\n\r\n", 1)[0]
    found = (line.split(":", 1) for line in head.splitlines()[1:] if line.lower().startswith("x-"))
    return {name.strip(): value.strip() for name, value in found}


def _report(report: CallReport, record: Path | None) -> int:
    if record is not None:
        write_wav(record, report.recording)
    transcribe_report(report)
    print(f"connected: {report.connected}")
    print(f"far end: {report.greeting_text}")
    for turn in report.turns:
        latency = f"{turn.latency_ms:.0f} ms" if turn.latency_ms is not None else "no answer"
        print(f"you: {turn.said}")
        print(f"far end ({latency}): {turn.bot_text}")
    figures = {"call_id": report.call_id, "connected": report.connected, "bot_answered": report.bot_answered,
               "greeting": report.greeting_text, "latency_ms": [t.latency_ms for t in report.turns],
               "bot": [t.bot_text for t in report.turns], "keys_heard": report.keys_heard, "srtp": report.srtp,
               "invite_headers": invite_headers(report.invite)}  # fmt: skip
    print(json.dumps(figures))
    return 0 if report.bot_answered else 1
