"""Capacity of the SIP edge: SIPp at rising concurrency through Kamailio onto the worker cells.

Starts `voicebot run` with enough workers (4 calls each with the pjsua2 wheel) for the highest level.
At each level SIPp places that many concurrent calls; each caller streams line silence over RTP and
listens to the bot's greeting for the hold time. Per level it prints failed calls, the edge's CPU per
call (workers + Kamailio, from /proc, over the window when all calls are up) and the p99 gap between
RTP packets the bot sent (tcpdump on loopback). Last line: a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.state import CallStore
from sip.worker import rtp_ports_for
from tests.sipp import capture, free_media_port, p99, render, run_sipp, silence_file
from tests.stack import running_stack

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICKS


async def pids_of(pattern: str) -> list[int]:
    proc = await asyncio.create_subprocess_exec("pgrep", "-f", pattern, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return [int(p) for p in out.split()]


def prepare(work: Path, hold_ms: int) -> Path:
    """The level's folder, a 2 s mu-law WAV of line silence, and the rendered scenario."""
    work.mkdir(parents=True, exist_ok=True)
    return render("uac_listen.xml", work / "uac.xml", WAV=silence_file(work / "silence.ul"), HOLD_MS=hold_ms)


async def outcomes(redis_url: str, prefix: str, calls: int) -> dict[str, int]:
    """How the bot recorded the level's calls (by their SIPp Call-ID prefix): outcome → count."""
    redis = Redis.from_url(redis_url)
    try:
        store = CallStore(redis)
        ids = [c for c in await store.recent(calls * 2) if c.startswith(prefix)]
        return dict(Counter([(await store.record(c)).get("outcome", "(live)") for c in ids]))
    finally:
        await redis.aclose()


async def level(stack_sip: int, workers: int, calls: int, hold_ms: int, work: Path) -> dict[str, Any]:
    scenario = prepare(work, hold_ms)
    edge = await pids_of(
        f"sip-worker --host 127.0.0.1 --port ({'|'.join(str(stack_sip + 1 + i) for i in range(workers))}) "
    )
    edge += await pids_of("kamailio -DD")
    ramp_s = calls / 20
    bot_ports = [
        p
        for i in range(workers)
        for p in range(rtp_ports_for(stack_sip + 1 + i), rtp_ports_for(stack_sip + 1 + i) + 24)
    ]
    async with capture(work / "rtp.pcap", f"udp and portrange {min(bot_ports)}-{max(bot_ports)}") as cap:
        run = asyncio.create_task(run_sipp(scenario, f"127.0.0.1:{stack_sip}", calls=calls, concurrency=calls, rate=20,
                                           workdir=work, media_port=free_media_port(), timeout_s=120))  # fmt: skip
        await asyncio.sleep(ramp_s + 2.0)  # all calls up and greeted
        window_start, cpu_start = time.monotonic(), cpu_seconds(edge)
        await asyncio.sleep(max(1.0, hold_ms / 1000 - ramp_s - 4.0))
        window = time.monotonic() - window_start
        cpu = cpu_seconds(edge) - cpu_start
        result = await run
    flows = cap.analyse(range(min(bot_ports), max(bot_ports) + 1))
    gaps = [g for f in flows.values() for g in f.gaps_ms()[50:]]  # skip each call's start-up
    cores = cpu / window
    failed = result.failed + (calls - result.successful - result.failed)
    if failed:
        print(f"  SIPp's errors: {(work / 'errors.log').read_text(errors='replace')[-1500:]}", flush=True)
    return {"calls": calls, "failed": failed, "call_id_prefix": result.call_id_prefix,
            "edge_cpu_pct_per_call": round(100 * cores / calls, 3), "edge_cores": round(cores, 3),
            "rtp_gap_p99_ms": round(p99(gaps), 2), "rtp_flows": len(flows)}  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", default="8,16,32,48", help="concurrent calls per level")
    parser.add_argument("--hold-ms", type=int, default=15000)
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    workers = -(-max(levels) // 4)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        # The engine only greets here; let it take every call so the edge is what is measured.
        async with running_stack(Path(tmp), workers=workers, VOICEBOT_ENGINE_MAX_SESSIONS="500") as stack:
            for n in levels:
                r = await level(stack.sip_port, workers, n, args.hold_ms, Path(tmp) / f"level{n}")
                await asyncio.sleep(3)  # the last BYEs and records
                r["outcomes"] = await outcomes(stack.redis_url, str(r.pop("call_id_prefix")), n)
                results.append(r)
                print(f"{n:4d} calls: failed {r['failed']:.0f}, edge CPU {r['edge_cpu_pct_per_call']:.2f} % of a core "
                      f"per call, RTP gap p99 {r['rtp_gap_p99_ms']:.1f} ms ({r['rtp_flows']:.0f} flows); "
                      f"outcomes {r['outcomes']}", flush=True)  # fmt: skip
    ok = [r for r in results if r["failed"] == 0]
    best = max(ok, key=lambda r: r["calls"]) if ok else None
    summary = {
        "max_calls_zero_fail": best["calls"] if best else 0,
        "calls_per_core": round(best["calls"] / best["edge_cores"], 1) if best and best["edge_cores"] else 0,
        "rtp_gap_p99_ms": best["rtp_gap_p99_ms"] if best else None,
        "workers": workers, "cpus": os.cpu_count(), "levels": results,
    }  # fmt: skip
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main())
