"""The offline brain on caller dialogs: accuracy per tool set and brain latency per turn. Text in, no ASR.

Four tool sets (bench/brain_sets/): the product's own (flows/), and a pharmacy's, a utility's and an
airline's, written as those companies would declare them (plain descriptions, no example phrases).
Each caller turn expects one decision: a tool call with exactly these arguments, a question for one
argument, a confirmation, a clarifying question, a fact from the instructions, or a stock line
(goodbye, help, "say that again"). Real MiniLM embeddings, one encoder thread as in the engine.
A held-out set (bench/brain_sets/heldout.py: written after the brain, never tuned on) is scored
apart. Prints each miss, then per set accuracy, p50/p95 brain ms and RSS growth; last a JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import numpy as np

from bench.brain_sets.cases import ANY, OPTIONAL, Expect, ToolSet
from bench.brain_sets.heldout import heldout_sets
from bench.brain_sets.pharmacy import pharmacy_set
from bench.brain_sets.product import product_set
from bench.brain_sets.travel import travel_set
from bench.brain_sets.utility import utility_set
from bot.engine.brain.base import DialogRequest, ToolCall, ToolSpec, Turn
from bot.engine.brain.embed import SentenceEncoder
from bot.engine.brain.local import LocalBrain

TODAY = dt.date(2026, 12, 1)  # a Tuesday


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def same(expected: Any, got: Any) -> bool:
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return isinstance(got, int | float) and not isinstance(got, bool) and abs(float(got) - expected) < 0.005
    if isinstance(expected, str) and isinstance(got, str):
        return expected.strip().lower() == got.strip().lower()
    return bool(expected == got)


def args_match(expected: dict[str, Any], got: dict[str, Any]) -> bool:
    for name, value in expected.items():
        if value is OPTIONAL:
            continue
        if name not in got or (value is ANY and not str(got[name]).strip()):
            return False
        if value is not ANY and not same(value, got[name]):
            return False
    return all(name in expected for name in got)  # nothing invented


def judge(expect: Expect, out: Any, brain: LocalBrain) -> bool:
    d = brain.decision
    if expect.kind == "call":
        return isinstance(out, ToolCall) and out.name == expect.tool and args_match(expect.args, out.arguments)
    if isinstance(out, ToolCall) or d is None:
        return False
    if expect.kind == "ask":
        return d.kind == "ask" and d.param == expect.param
    if expect.kind == "confirm":
        return d.kind == "confirm" and d.tool == expect.tool and args_match(expect.args, d.args) and "_" not in out
    if expect.kind == "clarify":
        return d.kind == "clarify" and set(expect.options) <= set(d.options)
    if expect.kind == "fact":
        return d.kind == "fact" and str(expect.text).lower() in out.lower()
    return d.kind == "say" and d.said == expect.text


async def run_set(toolset: ToolSet, encoder: SentenceEncoder, cache: dict[str, np.ndarray], verbose: bool
                  ) -> tuple[int, int, list[float]]:  # fmt: skip
    async def embed(texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            for text, vector in zip(missing, encoder.encode(missing), strict=True):
                cache[text] = vector
        return np.stack([cache[t] for t in texts])

    tools = tuple(ToolSpec.from_wire(t) for t in toolset.tools)
    right = total = 0
    times: list[float] = []
    for dialog in toolset.dialogs:
        brain = LocalBrain(embed, today=lambda: TODAY)
        await brain.prepare(toolset.instructions, tools)
        history: list[Turn] = []

        async def respond(history: list[Turn] = history, brain: LocalBrain = brain) -> Any:
            request = DialogRequest(toolset.instructions, tuple(history), tools)
            start = time.perf_counter()
            outs = [o async for o in brain.respond(request)]
            times.append((time.perf_counter() - start) * 1000)
            return outs[0]

        for step in dialog:
            history.append(Turn("user", step.caller))
            out = await respond()
            ok = judge(step.expect, out, brain)
            right += ok
            total += 1
            if not ok and verbose:
                print(f"  MISS [{toolset.name}] {step.caller!r}\n       want {step.expect}\n       got  {out!r} "
                      f"{brain.decision}")  # fmt: skip
            if isinstance(out, ToolCall):
                history.append(
                    Turn("tool_call", name=out.name, call_id=f"c{total}", arguments=json.dumps(out.arguments))
                )
                history.append(Turn("tool_result", step.result, call_id=f"c{total}"))
                history.append(Turn("assistant", await respond()))
            else:
                history.append(Turn("assistant", out))
    return right, total, times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quiet", action="store_true", help="do not print each miss")
    args = parser.parse_args()
    before = rss_mb()
    encoder = SentenceEncoder()
    loaded = rss_mb()
    cache: dict[str, np.ndarray] = {}
    figures: dict[str, Any] = {}
    right_all = total_all = 0
    times_all: list[float] = []
    for toolset in (product_set(), pharmacy_set(), utility_set(), travel_set()):
        right, total, times = await run_set(toolset, encoder, cache, not args.quiet)
        right_all += right
        total_all += total
        times_all += times
        figures[toolset.name] = round(right / total, 3)
        print(f"{toolset.name:10s} {right:3d}/{total:3d} = {right / total:.3f}")
    held_right = held_total = 0
    for toolset in heldout_sets():  # new words, never tuned on: reported apart, not in the accuracy
        right, total, _times = await run_set(toolset, encoder, cache, not args.quiet)
        held_right, held_total = held_right + right, held_total + total
    print(f"held out   {held_right:3d}/{held_total:3d} = {held_right / held_total:.3f}")
    q = statistics.quantiles(times_all, n=20)
    figures = {"accuracy": round(right_all / total_all, 3), **figures, "turns": total_all,
               "brain_p50_ms": round(statistics.median(times_all), 1), "brain_p95_ms": round(q[18], 1),
               "heldout": round(held_right / held_total, 3), "heldout_turns": held_total,
               "encoder_rss_mb": round(loaded - before, 1), "brain_rss_growth_mb": round(rss_mb() - loaded, 1)}  # fmt: skip
    print(
        f"overall    {right_all:3d}/{total_all:3d} = {figures['accuracy']:.3f}; brain p50 "
        f"{figures['brain_p50_ms']} ms, p95 {figures['brain_p95_ms']} ms over {len(times_all)} replies; "
        f"RSS +{figures['encoder_rss_mb']} MB encoder, +{figures['brain_rss_growth_mb']} MB dialogs"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
