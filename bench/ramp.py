"""A ramp of calls onto a cold stack: how many the bot takes when they all arrive within seconds.

Starts `voicebot run` with enough workers (4 calls each), then SIPp places `--calls` calls at
`--rate` calls/s, each streaming line silence and holding `--hold-ms`. Prints failed calls, the
bot's recorded outcomes (by the run's Call-ID prefix) and the CPU seconds of the engine and of the
workers over the run (from /proc). Last line: a JSON object of the figures. Unlike
bench/edge_capacity.py (levels one after another on a warm engine), every session here starts cold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.edge_capacity import cpu_seconds, pids_of
from bot.state import CallStore
from tests.sipp import call_ids, render, run_sipp, silence_file
from tests.stack import running_stack


async def ramp(calls: int, rate: float, hold_ms: int) -> dict[str, object]:
    from redis.asyncio import Redis

    with tempfile.TemporaryDirectory(prefix="bench-ramp-") as tmp:
        work = Path(tmp)
        async with running_stack(work, workers=-(-calls // 4), VOICEBOT_ENGINE_MAX_SESSIONS="500") as stack:
            engine, workers = await pids_of("voicebot engine"), await pids_of("sip-worker --host 127.0.0.1 --port ")
            e0, w0 = cpu_seconds(engine), cpu_seconds(workers)
            scenario = render(
                "uac_listen.xml", work / "uac.xml", WAV=silence_file(work / "silence.ul"), HOLD_MS=hold_ms
            )
            prefix = call_ids()
            result = await run_sipp(scenario, f"127.0.0.1:{stack.sip_port}", calls=calls, concurrency=calls, rate=rate,
                                    workdir=work, media_port=31000, timeout_s=120, call_id_prefix=prefix)  # fmt: skip
            engine_cpu, workers_cpu = cpu_seconds(engine) - e0, cpu_seconds(workers) - w0
            await asyncio.sleep(3)  # the last records
            redis = Redis.from_url(stack.redis_url)
            try:
                store = CallStore(redis)
                ids = [c for c in await store.recent(calls * 3) if c.startswith(prefix)]
                outcomes = Counter([(await store.record(c)).get("outcome", "(live)") for c in ids])
            finally:
                await redis.aclose()
    failed = calls - result.successful
    return {"calls": calls, "rate": rate, "failed": failed, "outcomes": dict(outcomes),
            "engine_cpu_s": round(engine_cpu, 1), "workers_cpu_s": round(workers_cpu, 1)}  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=96)
    parser.add_argument("--rate", type=float, default=20.0, help="new calls per second")
    parser.add_argument("--hold-ms", type=int, default=15000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        r = await ramp(args.calls, args.rate, args.hold_ms)
        runs.append(r)
        print(f"run {i + 1}: {r['calls']} calls at {r['rate']}/s: failed {r['failed']}, outcomes {r['outcomes']}, "
              f"engine CPU {r['engine_cpu_s']} s, workers CPU {r['workers_cpu_s']} s", flush=True)  # fmt: skip
        await asyncio.sleep(5)  # the stack's ports are free again
    print(json.dumps({"runs": runs, "failed_runs": sum(1 for r in runs if r["failed"]), "cpus": os.cpu_count()}))


if __name__ == "__main__":
    asyncio.run(main())
