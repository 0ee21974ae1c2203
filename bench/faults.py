"""kill -9 each component of a running stack mid-call; what the caller got, what was recorded, and how
soon new calls work. `python -m bench.faults [--rounds N]`

One stack (`voicebot run`, 2 workers, Kamailio, rtpengine, the private Redis). Per fault (engine, the
worker holding the call, Kamailio, Redis, the media proxy; the call offers plain RTP): a SIPp caller through the front door; `KILL_AT_S` after the
answer the component is killed (SIGKILL, its whole process); a moment later the caller asks a
question (our TTS through G.711). From an RTP + SIP capture of the call:

  silence_s   the longest stretch, from the kill until the caller's question was answered or the
              bot side ended the call (BYE), in which the caller heard no bot speech and was not
              speaking; no answer and no BYE: up to the caller's own hang-up
  caller_got  answered | bye | nothing
  record_ok   the call record ended with the expected outcome (worker: worker_died, else
              caller_hung_up), its duration within 3 s of the call's real length, and (where the
              call went on) the question and an answer in its transcript
  recovery_s  from the kill until a new call through the front door was answered and held 1 s
              (probed every 0.25 s from the kill on, in parallel with the call)

The last line is one JSON object: max_silence_s, records_ok, recovery_s_max, faults (each one's figures).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import dpkt

from tests.audio import phone_ulaw
from tests.sipp import Flow, call_ids, call_once, capture, free_media_port, render, run_sipp, silence_file, ulaw_file
from tests.stack import Stack, call_of, free_port, listening_pid, parent, pids, running_stack

FAULTS = ("engine", "worker", "kamailio", "redis", "rtpengine")
KILL_AT_S = 6.0  # after the answer: the greeting has been heard
ASK_AT_S = 7.0
HOLD_S = 24.0  # then the caller hangs up (unless the bot side did)
QUESTIONS = ("Hi, um, I was wondering what time you close today?",
             "Yeah so, uh, can you tell me where my order is? It's four five seven two one.",
             "Okay, and do you do repairs on weekends, or just weekdays?")  # fmt: skip
EXPECTED = {"worker": "worker_died"}
PROBE_HOLD_S = 1.0


@dataclass
class FaultResult:
    fault: str
    caller_got: str
    silence_s: float
    outcome: str
    duration_s: float
    call_length_s: float
    record_ok: bool
    recovery_s: float | None


async def victim(fault: str, stack: Stack, worker: str) -> int:
    """The pid to kill for `fault` (the main process: its forks are its own business)."""
    if fault == "engine":  # (the one listening: its standby has the same command line)
        found = [p] if (p := await listening_pid(stack.engine_port)) else []
    elif fault == "worker":
        n = int(worker.removeprefix("w"))
        found = await pids(f"voicebot sip-worker --host 127.0.0.1 --port {stack.sip_port + n} --id w{n}$")
    elif fault == "kamailio":
        found = await pids(f"kamailio -DD -E -f {stack.run_dir}/kamailio/")
        found = [p for p in found if parent(p) not in found]
    elif fault == "rtpengine":
        found = await pids(f"rtpengine --config-file {stack.run_dir}/rtpengine/")
    else:
        found = await pids(f"redis-server 127.0.0.1:{stack.env['VOICEBOT_REDIS_PORT']}")
    if len(found) != 1:
        raise RuntimeError(f"{fault}: expected one process, found {found}")
    return found[0]


def byes(pcap: Path, sipp_port: int) -> tuple[float | None, float | None]:
    """When the caller got a BYE, and when it sent one (capture times)."""
    got = sent = None
    with pcap.open("rb") as f:
        for ts, buf in dpkt.pcap.Reader(f):
            ip = dpkt.ethernet.Ethernet(buf).data
            if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.udp.UDP) and ip.data.data.startswith(b"BYE "):
                if ip.data.dport == sipp_port and got is None:
                    got = ts
                elif ip.data.sport == sipp_port and sent is None:
                    sent = ts
    return got, sent


def longest_silence(start: float, end: float, caller: Flow | None, bot: Flow) -> float:
    heard = sorted(t for t in [*bot.speech_times, *(caller.speech_times if caller else [])] if start <= t <= end)
    times = [start, *heard, end]
    return max(b - a for a, b in itertools.pairwise(times))


async def recovery(stack: Stack, workdir: Path, since: float, stop: asyncio.Event) -> float | None:
    """Seconds from `since` (time.time()) until a probe call is answered (it then holds 1 s)."""
    scenario = render(
        "uac_listen.xml",
        workdir / "probe.xml",
        WAV=silence_file(workdir / "silence.ul"),
        HOLD_MS=int(PROBE_HOLD_S * 1000),
    )
    while not stop.is_set() and time.time() - since < 60:
        result = await call_once(scenario, stack.sip_port, workdir)
        if result.successful == 1:  # answered about PROBE_HOLD_S + the BYE's round trip ago
            return max(0.0, time.time() - PROBE_HOLD_S - since)
        await asyncio.sleep(0.25)
    return None


async def one_fault(fault: str, question: str, stack: Stack, tmp: Path) -> FaultResult:
    work = tmp / fault
    work.mkdir(parents=True)
    ask = phone_ulaw(question)
    audio = b"\xff" * int(8000 * ASK_AT_S) + ask + b"\xff" * int(8000 * (HOLD_S - ASK_AT_S))
    scenario = render("uac_hold_or_bye.xml", work / "call.xml", WAV=ulaw_file(audio, work / "caller.ul"),
                      HOLD_MS=int(HOLD_S * 1000))  # fmt: skip
    media_port, sipp_port = free_media_port(), free_port()
    prefix = call_ids()
    pcap = work / "call.pcap"
    async with capture(pcap, f"udp and (port {sipp_port} or port {media_port})") as cap:
        call = asyncio.ensure_future(run_sipp(scenario, f"127.0.0.1:{stack.sip_port}", calls=1, concurrency=1, rate=1,
                                              workdir=work, media_port=media_port, timeout_s=int(HOLD_S) + 20,
                                              call_id_prefix=prefix, sip_port=sipp_port))  # fmt: skip
        record, _ = await call_of(stack, prefix, until="active")
        await asyncio.sleep(KILL_AT_S)
        pid = await victim(fault, stack, record["worker"])
        await (await asyncio.create_subprocess_exec("kill", "-9", str(pid))).wait()
        killed = time.time()
        stop = asyncio.Event()
        (work / "probe").mkdir()
        probe = asyncio.ensure_future(recovery(stack, work / "probe", killed, stop))
        sipp = await call
        recovered = await probe
        stop.set()
        await asyncio.sleep(0.5)  # the last packets into the capture
    caller, bot = cap.call_flows(media_port)
    got_bye, sent_bye = byes(pcap, sipp_port)
    asked_end = caller.speech_times[-1] if caller and caller.speech_times else killed + ASK_AT_S - KILL_AT_S
    answered = next((t for t in bot.speech_times if t > asked_end + 0.1), None)
    ends = [t for t in (answered, got_bye) if t is not None]
    end = min(ends) if ends else (sent_bye or time.time())
    caller_got = "answered" if answered is not None and end == answered else "bye" if got_bye else "nothing"
    silence = longest_silence(killed, end, caller, bot)
    record, lines = await call_of(stack, prefix)
    first_rtp = caller.times[0] if caller else killed - KILL_AT_S
    length = (got_bye or sent_bye or time.time()) - first_rtp
    duration = float(record.get("duration_s") or 0.0)
    outcome = record.get("outcome", "")
    went_on = fault != "worker"
    roles = [line["role"] for line in lines]
    answered_on_record = "caller" in roles and "bot" in roles[roles.index("caller") + 1 :]  # (silent until asked)
    ok = (outcome == EXPECTED.get(fault, "caller_hung_up") and abs(duration - length) <= 3.0
          and (not went_on or answered_on_record))  # fmt: skip
    print(f"{fault:9s} sipp {'ok' if sipp.successful else 'FAILED'}; caller got {caller_got}, longest silence "
          f"{silence:.2f} s; outcome {outcome}, duration {duration:.1f} s of {length:.1f} s; record "
          f"{'ok' if ok else 'WRONG'}; new calls after {recovered if recovered is None else round(recovered, 2)} s",
          flush=True)  # fmt: skip
    if not ok:
        print(f"          transcript: {[(line['role'], line['text'][:60]) for line in lines]}", flush=True)
    return FaultResult(fault, caller_got, round(silence, 2), outcome, duration, round(length, 1), ok,
                       None if recovered is None else round(recovered, 2))  # fmt: skip


async def run(args: argparse.Namespace) -> dict[str, object]:
    results: list[FaultResult] = []
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        async with running_stack(Path(tmp), 2) as stack:
            log = Path(tmp) / "stack.log"
            for _ in range(600):  # each worker has its fallback lines before the first fault
                if log.read_text(errors="replace").count("fallback lines ready") >= 2:
                    break
                await asyncio.sleep(0.1)
            for r in range(args.rounds):
                for i, fault in enumerate(args.faults.split(",")):
                    results.append(await one_fault(fault, QUESTIONS[(r + i) % len(QUESTIONS)], stack,
                                                   Path(tmp) / f"r{r}"))  # fmt: skip
                    await asyncio.sleep(3)  # the component settled
            restarts = log.read_text(errors="replace").count("exited with -9")
            if args.log:
                shutil.copyfile(log, args.log)  # (the stack's log, to see where a recovery's time went)
    recoveries = [r.recovery_s for r in results]
    return {
        "max_silence_s": max(r.silence_s for r in results),
        "records_ok": all(r.record_ok for r in results),
        "recovery_s_max": None if None in recoveries else max(v for v in recoveries if v is not None),
        "restarts": restarts,
        "faults": [asdict(r) for r in results],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--log", type=Path, help="keep a copy of the stack's log here")
    args = parser.parse_args()
    if args.rounds < 1:
        sys.exit("--rounds must be at least 1")
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
