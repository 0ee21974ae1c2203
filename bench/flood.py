"""Legitimate calls during an INVITE flood from one address. `python -m bench.flood [--rate 200]`

One stack (`voicebot run`, 2 workers = 8 lines, Kamailio in front). A SIPp flood from 127.0.0.2 (an
address that is not a trusted trunk) at `--rate` INVITEs per second for `--seconds`; each INVITE
that is answered holds its line 5 s, as a line-grabbing attacker would. Meanwhile `--calls`
legitimate calls come from 127.0.0.3 (one a second, each holding 1 s) and, if `--trunk-calls`,
as many from the trusted trunk address 127.0.0.1. Prints the share of legitimate calls answered and
how many flood calls got a line. The last line is one JSON object with `legit_answered_pct`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
from pathlib import Path

from tests.sipp import render, run_sipp, silence_file
from tests.stack import Stack, running_stack

FLOODER, CALLER, TRUNK = "127.0.0.2", "127.0.0.3", "127.0.0.1"


async def legit_calls(stack: Stack, work: Path, n: int, source: str) -> int:
    """`n` one-second calls from `source`, started 1 s apart; how many were answered and held."""
    work.mkdir(parents=True)  # noqa: ASYNC240 (once, before any call)
    scenario = render("uac_listen.xml", work / "call.xml", WAV=silence_file(work / "silence.ul"), HOLD_MS=1000)

    async def one(i: int) -> int:
        await asyncio.sleep(1.0 * i)
        (work / str(i)).mkdir()
        result = await run_sipp(scenario, f"127.0.0.1:{stack.sip_port}", calls=1, concurrency=1, rate=1,
                                workdir=work / str(i), media_port=random.randrange(40000, 49000, 2), timeout_s=20,
                                local_ip=source)  # fmt: skip
        return result.successful

    return sum(await asyncio.gather(*(one(i) for i in range(n))))


async def run(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-flood-") as tmp:
        root = Path(tmp)
        async with running_stack(root, 2) as stack:
            (root / "flood").mkdir()
            scenario = render("uac_listen.xml", root / "flood" / "flood.xml", WAV=silence_file(root / "flood" / "s.ul"),
                              HOLD_MS=5000)  # fmt: skip
            total = int(args.rate * args.seconds)
            flood = asyncio.ensure_future(run_sipp(scenario, f"127.0.0.1:{stack.sip_port}", calls=total,
                                                   concurrency=total, rate=args.rate, workdir=root / "flood",
                                                   media_port=30000, timeout_s=int(args.seconds) + 40,
                                                   local_ip=FLOODER))  # fmt: skip
            await asyncio.sleep(1.0)  # the flood is on
            callers = legit_calls(stack, root / "caller", args.calls, CALLER)
            trunk = legit_calls(stack, root / "trunk", args.calls if args.trunk_calls else 0, TRUNK)
            answered, trunk_answered = await asyncio.gather(callers, trunk)
            flooded = await flood
            log = (root / "stack.log").read_text(errors="replace")
    legit = args.calls * (2 if args.trunk_calls else 1)
    pct = 100.0 * (answered + trunk_answered) / legit
    print(f"flood: {total} INVITEs at {args.rate}/s from {FLOODER}, {flooded.successful} got a line and held it")
    print(f"legitimate: {answered}/{args.calls} from {CALLER}" +
          (f", {trunk_answered}/{args.calls} from the trunk {TRUNK}" if args.trunk_calls else "") +
          f": {pct:.1f} % answered; pike blocks logged: {log.count('PIKE')}")  # fmt: skip
    return {"legit_answered_pct": round(pct, 1), "legit_calls": legit, "flood_invites": total,
            "flood_answered": flooded.successful, "rate": args.rate, "seconds": args.seconds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0, help="flood INVITEs per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long the flood lasts")
    parser.add_argument("--calls", type=int, default=20, help="legitimate calls from each legitimate source")
    parser.add_argument("--trunk-calls", action="store_true", help="also legitimate calls from the trusted trunk")
    args = parser.parse_args()
    if not (0 < args.rate <= 1000 and 0 < args.seconds <= 60 and 0 < args.calls <= 100):
        sys.exit("bounded: rate 1-1000/s, seconds 1-60, calls 1-100")
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
