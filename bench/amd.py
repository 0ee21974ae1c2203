"""Answering-machine detection over real SIP: `python -m bench.amd [--concurrency 4]`

One stack (`voicebot run`, 2 workers). For each callee the bot places a call (the dial queue) to a
SIPp UAS that answers and plays what that callee says: a person's hello (24 phrasings, from "Yes?" to
"Hi, Dana here, who's calling?") then silence; a machine's greeting (24, two thirds ending in a
1 kHz beep, the rest without one); or nothing at all (4). Our piper voice at speaking rates 0.85-1.2,
through G.711, 300-900 ms after the answer. The bench reads the call's `amd` verdict and `amd_ms`
(from the answer) from its dial record, then hangs up (or lets the bot leave its message).

Prints each callee's verdict and time, then accuracy (person vs machine; the silent ones apart) and
the decision time p50/p95. The last line is one JSON object with `amd_accuracy` and `amd_decision_p50_ms`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from redis.asyncio import Redis

from bot.audio import g711
from bot.audio.resample import resample_once
from bot.dialer import ask_hang_up, request_call, status
from bot.engine.tts import PiperVoice
from tests.sipp import render, sipp_callee, ulaw_file
from tests.stack import free_port, free_sip_port, running_stack

HUMANS = ("Hello?", "Yeah, hello?", "Hi, who's this?", "Hello, Dana speaking.", "Yes?", "Hi there.", "Uh, hello?",
          "Dana here.", "Good morning!", "Hello, who is calling please?", "Hey.", "Mm, hello?", "Yes, hello?",
          "Speaking.", "Hello, this is Sam.", "Who is it?", "Yeah?", "Hi, Dana here, who's calling?", "Hello hello?",
          "Morning, this is Lee.", "Hello, Patel residence.", "Yep?", "Hi, it's Maria.", "Hello... hi?")  # fmt: skip
MACHINES = (
    "Hi, you've reached Dana. I can't take your call right now, please leave a message after the beep.",
    "The person you are calling is not available. At the tone, please record your message.",
    "Hello, you have reached the Smith family. We're not home right now, so leave us a message and we'll call you back.",
    "Hey, it's Sam. Leave a message.",
    "Thank you for calling. Your call has been forwarded to an automatic voice message system.",
    "Hi, this is Lee, sorry I missed you, leave your name and number and I'll get back to you soon.",
    "You have reached five five five, one two three four. Please leave a message after the tone.",
    "Hello! You've reached the voicemail of Dr. Patel. The office is closed. Please leave a message.",
    "Hi there, you've got Maria. Can't talk now, text me or leave a voicemail.",
    "This mailbox belongs to Alex Chen. Please leave a detailed message after the tone.",
    "Hi, you've reached Acme Plumbing. Our hours are eight to five, Monday to Friday. Leave a message.",
    "The number you have dialed is not available. Please try again later, or leave a message.",
    "Hey! Sorry, can't get to the phone. You know what to do.",
    "Hello, this is Jordan's phone. I'm away from my desk. Please leave your name, number, and a short message.",
    "Welcome to the voice mailbox of Kim. Please speak after the tone. When you are finished, hang up.",
    "Hi, it's Priya. I'm probably driving. Leave a message and I'll call you back tonight.",
    "You've reached the front desk. Nobody is available to take your call. Please leave a message.",
    "Hello, Garcia residence. We are not available. Please leave a message after the beep. Thank you.",
    "Hi, this is Tom. I'm out of the office until Monday. For urgent matters, call my colleague Ann.",
    "Your call has been forwarded to voicemail. The person at five five five, nine nine eight one is not available.",
    "Hey, you reached Chris. Leave it at the beep.",
    "Hello. You have reached the home of the Nguyens. Please leave a message and have a great day.",
    "Thanks for calling Riverside Dental. Our office is currently closed. Please leave a message.",
    "Hi, Olivia here, well, not really, this is my voicemail. Talk to me after the beep.",
)
SILENT = 4
RATES = (0.85, 0.95, 1.0, 1.1, 1.2)


@dataclass
class Callee:
    kind: str  # human | machine | silent
    text: str
    beep: bool
    audio: bytes  # mu-law, 8 kHz


def speak(voice: PiperVoice, text: str, rate: float) -> bytes:
    from piper import SynthesisConfig

    config = SynthesisConfig(length_scale=rate, noise_scale=0.0, noise_w_scale=0.0)
    pcm = b"".join(c.audio_int16_bytes for c in voice._voice.synthesize(text, syn_config=config))
    return g711.pcm16_to_ulaw(resample_once(pcm, voice.sample_rate, 8000))


def beep(ms: int = 400, hz: float = 1000.0) -> bytes:
    t = np.arange(8 * ms) / 8000
    return g711.pcm16_to_ulaw((np.sin(2 * np.pi * hz * t) * 10000).astype(np.int16).tobytes())


def callees(seed: int) -> list[Callee]:
    rng = random.Random(seed)
    voice = PiperVoice()
    quiet = b"\xff"
    out = []
    for text in HUMANS:
        lead = quiet * (8 * rng.randrange(300, 900))
        out.append(Callee("human", text, False, lead + speak(voice, text, rng.choice(RATES)) + quiet * 8 * 30_000))
    for i, text in enumerate(MACHINES):
        lead = quiet * (8 * rng.randrange(300, 900))
        tail = quiet * (8 * rng.randrange(300, 900)) + (beep() if i % 3 != 2 else b"")
        out.append(Callee("machine", text, i % 3 != 2, lead + speak(voice, text, rng.choice(RATES)) + tail
                          + quiet * 8 * 30_000))  # fmt: skip
    out += [Callee("silent", "", False, quiet * 8 * 30_000) for _ in range(SILENT)]
    return out


async def one(redis: Redis, callee: Callee, work: Path) -> dict[str, object]:
    work.mkdir()  # noqa: ASYNC240 (before the callee starts)
    port = free_port(socket.SOCK_DGRAM)
    audio = ulaw_file(callee.audio, work / "audio.ul")
    scenario = render("uas_answer.xml", work / "callee.xml", WAV=audio, RING_MS=300, WAIT_MS=60000)
    media = free_sip_port(3)  # SIPp binds audio RTP there and video at +2
    sipp = await sipp_callee(scenario, port=port, workdir=work, media_port=media, timeout_s=90)
    dial_id = await request_call(redis, f"sip:+1555030{random.randrange(1000):03d}@127.0.0.1:{port}")
    found: dict[str, str] = {}
    try:
        async with asyncio.timeout(30):
            while "amd" not in found and found.get("state") != "ended":  # (the worker writes it: polled)
                await asyncio.sleep(0.2)
                found = await status(redis, dial_id)
        if found.get("amd") != "machine":
            await ask_hang_up(redis, dial_id)  # (a machine gets the message, then the bot hangs up)
        async with asyncio.timeout(45):
            while found.get("state") != "ended":
                await asyncio.sleep(0.2)
                found = await status(redis, dial_id)
    except TimeoutError:
        print(f"timed out: {callee.kind} {callee.text[:40]!r}: {found}", file=sys.stderr)
        await ask_hang_up(redis, dial_id)
    await sipp
    return {"kind": callee.kind, "text": callee.text, "beep": callee.beep, "verdict": found.get("amd", "none"),
            "amd_ms": int(found.get("amd_ms", 0)), "outcome": found.get("outcome"),
            "heard_beep": found.get("beep") == "1"}  # fmt: skip


async def run(args: argparse.Namespace) -> dict[str, object]:
    people = callees(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-amd-") as tmp:
        root = Path(tmp)
        async with running_stack(root, 2) as stack:
            redis = Redis.from_url(stack.redis_url)
            gate = asyncio.Semaphore(args.concurrency)

            async def gated(i: int, callee: Callee) -> dict[str, object]:
                async with gate:
                    return await one(redis, callee, root / f"callee{i}")

            try:
                results = await asyncio.gather(*(gated(i, c) for i, c in enumerate(people)))
            finally:
                await redis.aclose()
    for r in results:
        mark = (
            "ok "
            if r["verdict"] == {"human": "human", "machine": "machine", "silent": "no_speech"}[str(r["kind"])]
            else "BAD"
        )
        print(
            f"{mark} {r['kind']:7} -> {r['verdict']!s:9} {r['amd_ms']:5} ms  {r['outcome']!s:18} {str(r['text'])[:60]}"
        )
    judged = [r for r in results if r["kind"] != "silent"]
    correct = sum(1 for r in judged if r["verdict"] == r["kind"])
    times = sorted(int(str(r["amd_ms"])) for r in judged if r["verdict"] in ("human", "machine"))
    beeped = [r for r in results if r["kind"] == "machine" and r["beep"]]
    summary: dict[str, object] = {
        "amd_accuracy": round(correct / len(judged), 3),
        "amd_decision_p50_ms": int(statistics.median(times)) if times else None,
        "amd_decision_p95_ms": times[int(0.95 * (len(times) - 1))] if times else None,
        "humans": sum(1 for r in judged if r["kind"] == "human"),
        "machines": sum(1 for r in judged if r["kind"] == "machine"),
        "humans_right": sum(1 for r in judged if r["kind"] == "human" and r["verdict"] == "human"),
        "machines_right": sum(1 for r in judged if r["kind"] == "machine" and r["verdict"] == "machine"),
        "silent_no_speech": sum(1 for r in results if r["kind"] == "silent" and r["verdict"] == "no_speech"),
        "beeps_heard": f"{sum(1 for r in beeped if r['heard_beep'])}/{len(beeped)}",
        "voicemails_left": sum(1 for r in results if r["outcome"] == "voicemail"),
    }
    print(f"accuracy {summary['amd_accuracy']:.3f} ({correct}/{len(judged)}); decision p50 "
          f"{summary['amd_decision_p50_ms']} ms, p95 {summary['amd_decision_p95_ms']} ms; beeps heard "
          f"{summary['beeps_heard']}; silent callees: {summary['silent_no_speech']}/{SILENT} no_speech")  # fmt: skip
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=4, help="callees at once (2 workers: 8 lines)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    if not 0 < args.concurrency <= 8:
        sys.exit("bounded: concurrency 1-8")
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
