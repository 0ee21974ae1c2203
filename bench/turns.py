"""Turn-taking over real SIP: barge-in and end-of-turn latency, false barge-ins, premature turn ends.

Starts `voicebot run` (one worker: calls one at a time, so latencies are not queueing) and places:

- barge-in set (SIPp + tcpdump): the caller asks a question 0.8-2 s into the greeting. Barge-in latency
  = caller speech onset (first caller RTP packet with speech) → the bot's RTP goes silent (end of its
  last speech packet before a gap of 300 ms or more). End-of-turn latency is measured on the same
  calls: the caller's last speech packet → the bot's first speech packet after it.
- end-of-turn set (SIPp + tcpdump): the caller asks after the greeting has ended.
- echo + noise set (softphone): the line returns the bot's voice at -12 dB, 60 ms late, under -50 dBFS
  noise, while the caller asks two questions. False barge-in = any "barge-in" the edge noted.
- backchannel set (softphone): "uh huh", "yeah" and a cough over the bot; counted when they interrupt.
- pauses set (SIPp): numbers read with 700-1000 ms pauses between digits. Premature end = the call
  record has more than one caller turn, or the bot spoke before the caller had finished.

Last line: a JSON object with barge_in_p50_ms, barge_in_p95_ms, eot_p50_ms, eot_p95_ms,
false_barge_ins, premature_ends (and the set sizes, backchannel_interruptions).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.audio import phone_ulaw
from tests.sipp import Flow, capture, free_media_port, render, run_sipp, ulaw_file
from tests.stack import Stack, call_id_of, call_of, decisions, running_stack, softphone

QUESTIONS = [
    "What are your opening hours on Saturday?",
    "Where is my order?",
    "Can I pay my bill?",
    "What is your returns policy?",
    "I want to book an appointment.",
    "How do I reset my voicemail pin?",
]
NUMBERS = [
    ("My order number is", ["four", "five", "seven", "two", "one", "nine", "eight."], 800),
    ("My account number is", ["seven", "two", "four", "four."], 1000),
    ("My phone number is", ["five", "five", "five", "zero", "one", "zero", "zero."], 700),
    ("The code is", ["three", "eight", "one", "nine", "zero."], 900),
]


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def percentile(values: list[float], q: int) -> float | None:
    """The q-th percentile (ms, rounded); None where the set was not run."""
    if not values:
        return None
    if len(values) == 1:
        return round(values[0])
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1])


class Bench:
    def __init__(self, stack: Stack, work: Path) -> None:
        self.stack = stack
        self.work = work
        self.n = 0

    async def sipp_call(self, ulaw: bytes, greeting_ms: int, listen_ms: int) -> tuple[Flow, Flow, list[str]]:
        """One SIPp call speaking `ulaw` after `greeting_ms`; the caller's and the bot's RTP, and the
        caller turns in the call record."""
        self.n += 1
        work = self.work / f"call{self.n}"
        work.mkdir()
        wav = ulaw_file(ulaw, work / "say.ul")
        scenario = render("uac_audio.xml", work / "uac.xml", WAV=wav, GREETING_MS=greeting_ms, LISTEN_MS=listen_ms)
        media_port = free_media_port()
        async with capture(work / "rtp.pcap", f"udp and port {media_port}") as cap:
            result = await run_sipp(scenario, f"127.0.0.1:{self.stack.sip_port}", calls=1, concurrency=1, rate=1,
                                    workdir=work, media_port=media_port, timeout_s=90)  # fmt: skip
        if result.successful != 1:
            raise RuntimeError(f"call {self.n} failed: {result.stderr[-500:]}")
        caller, bot = cap.call_flows(media_port)
        if caller is None:
            raise RuntimeError(f"call {self.n}: no caller audio captured")
        _, lines = await call_of(self.stack, result.call_id_prefix)
        return caller, bot, [line["text"] for line in lines if line["role"] == "caller"]


def barge_in_ms(caller: Flow, bot: Flow) -> float | None:
    """Caller onset → the end of the bot's last speech packet before a 300 ms silence."""
    if not bot.speech_times:
        return None
    onset = caller.speech_times[0]
    times = [t for t in bot.speech_times if t >= onset - 0.1]
    for a, b in zip(times, [*times[1:], float("inf")], strict=True):
        if b - a >= 0.3:
            return max(0.0, (a + 0.02 - onset) * 1000)
    return None


def eot_ms(caller: Flow, bot: Flow) -> float | None:
    end = caller.speech_times[-1] + 0.02
    after = [t for t in bot.speech_times if t > end]
    return (after[0] - end) * 1000 if after else None


async def run(args: argparse.Namespace) -> dict[str, object]:
    barge, eot, false_barge, backchannel_hits, premature, phone_failures = [], [], 0, 0, 0, 0
    with tempfile.TemporaryDirectory(prefix="bench-turns-") as tmp:
        async with running_stack(Path(tmp), 1) as stack:
            bench = Bench(stack, Path(tmp))
            sets = set(args.sets.split(","))
            for i in range(args.calls if "barge" in sets else 0):  # barge-in set
                question = QUESTIONS[i % len(QUESTIONS)]
                at = 800 + (i * 300) % 1300
                caller, bot, said = await bench.sipp_call(phone_ulaw(question), at, 9000)
                b, e = barge_in_ms(caller, bot), eot_ms(caller, bot)
                print(f"barge-in {i + 1}: at {at} ms, stopped after {ms(b)}; answer after {ms(e)}; heard {said}")
                if b is not None:
                    barge.append(b)
                if e is not None:
                    eot.append(e)
            for i in range(args.calls if "eot" in sets else 0):  # end-of-turn set
                question = QUESTIONS[(i + 3) % len(QUESTIONS)]
                caller, bot, said = await bench.sipp_call(phone_ulaw(question), 5000, 8000)
                e = eot_ms(caller, bot)
                print(f"end of turn {i + 1}: answer after {ms(e)}; heard {said}")
                if e is not None:
                    eot.append(e)
            for i in range(args.echo_calls if "echo" in sets else 0):  # echo + noise set
                asks = [QUESTIONS[(2 * i) % len(QUESTIONS)], QUESTIONS[(2 * i + 1) % len(QUESTIONS)]]
                code, out = await softphone(stack.uri, *asks, echo=True)
                if code:  # the softphone itself failed: no verdict on the edge from this call
                    phone_failures += 1
                    print(f"echo {i + 1}: the softphone failed (exit {code}): {out[-1500:]}")
                    continue
                _, lines = await call_of(stack, call_id_of(out))
                hits = decisions(lines, "paused") + decisions(lines, "interrupted")
                false_barge += len(hits)
                print(f"echo {i + 1}: exit {code}, barge-ins {hits}")
            over = ["@1000:Uh huh.", "@1000:Yeah.", "@1500:*cough*", "@1200:Okay."]
            for i, spec in enumerate(over[: args.echo_calls] if "backchannel" in sets else []):  # backchannel set
                code, out = await softphone(stack.uri, spec, "Thank you.")
                if code:
                    phone_failures += 1
                    print(f"backchannel {i + 1}: the softphone failed (exit {code}): {out[-1500:]}")
                    continue
                _, lines = await call_of(stack, call_id_of(out))
                hits = decisions(lines, "interrupted")
                backchannel_hits += len(hits)
                print(f"backchannel {i + 1} ({spec}): exit {code}, interrupted {hits}")
            for lead, digits, pause_ms in NUMBERS if "pauses" in sets else []:  # pauses set
                audio = phone_ulaw(lead)
                for word in digits:
                    audio += b"\xff" * (8 * pause_ms) + phone_ulaw(word)
                caller, bot, said = await bench.sipp_call(audio, 4500, 12000)
                start, end = caller.speech_times[0], caller.speech_times[-1]
                cut_in = [t for t in bot.speech_times if start < t < end]
                early = len(said) != 1 or bool(cut_in)
                premature += early
                print(f"pauses {lead!r} every {pause_ms} ms: turns {said}, bot spoke over it: {bool(cut_in)}")
    return {
        "barge_in_p50_ms": percentile(barge, 50), "barge_in_p95_ms": percentile(barge, 95),
        "eot_p50_ms": percentile(eot, 50), "eot_p95_ms": percentile(eot, 95),
        "false_barge_ins": false_barge, "premature_ends": premature,
        "backchannel_interruptions": backchannel_hits, "softphone_failures": phone_failures,
        "barge_in_calls": len(barge), "eot_turns": len(eot), "echo_calls": args.echo_calls if "echo" in args.sets else 0,
        "pause_calls": len(NUMBERS) if "pauses" in args.sets else 0,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=8, help="calls in each of the barge-in and end-of-turn sets")
    parser.add_argument("--echo-calls", type=int, default=4, help="calls in the echo and backchannel sets")
    parser.add_argument("--sets", default="barge,eot,echo,backchannel,pauses", help="which sets to run (comma list)")
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
