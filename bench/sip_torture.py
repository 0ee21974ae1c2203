"""Malformed and mutated SIP against the front door and a worker; then do normal calls still work?
`python -m bench.sip_torture [--mutations 10000] [--rate 500]`

One stack (`voicebot run`, 2 workers, Kamailio in front, TLS on). Sent, each over UDP and TCP to the
front door and over UDP to worker 1 directly (a worker is on loopback only, but a bug in front of it
must not be able to take it down):

  torture    RFC 4475-style messages (bench/sip_torture_set.py): valid-but-odd ones a parser must
             take, invalid ones it must refuse, and the ones seen to hurt us (a From display name that
             is not UTF-8, Content-Length 99999 and doubled, a 9 KB INVITE)
  mutated    `--mutations` messages made from eight well-formed ones (INVITE, re-INVITE, OPTIONS,
             REGISTER, BYE, CANCEL, INFO, a response) by seeded random edits: bytes flipped, lines
             dropped, doubled or cut, random bytes and huge values inserted, Content-Length changed

Printed: messages sent and replies by status class per target, processes that died or were restarted
(pids before and after, and the supervisor's "exited" lines), the front door's answer to the 9 KB INVITE
over UDP and over TCP (the same limit on both), and whether `--calls` normal calls afterwards were
answered, held and recorded in Redis. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.sip_torture_set import BIG_INVITE, TORTURE, base_messages, mutate
from tests.sipp import call_once, render, silence_file
from tests.stack import Stack, call_of, parent, pids, running_stack

REPLY_WINDOW_S = 3.0  # after the last message: late replies still counted
SETTLE_S = 10.0  # then lines held by mutated INVITEs that were answered (and never ACKed) are freed


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.codes: Counter[str] = Counter()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        parts = data.split(b" ", 2)
        if parts[0] == b"SIP/2.0" and len(parts) > 1 and parts[1][:1].isdigit():
            self.codes[parts[1][:1].decode() + "xx"] += 1
        else:
            self.codes["request"] += 1  # (a worker's BYE for a mutated INVITE it answered, and so on)


async def over_udp(port: int, messages: list[bytes], rate: float) -> Counter[str]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(_Collector, local_addr=("127.0.0.1", 0))
    try:
        start = loop.time()
        for i, msg in enumerate(messages):
            transport.sendto(msg, ("127.0.0.1", port))
            if (ahead := start + (i + 1) / rate - loop.time()) > 0:
                await asyncio.sleep(ahead)
        await asyncio.sleep(REPLY_WINDOW_S)
    finally:
        transport.close()
    return proto.codes


async def over_tcp(port: int, messages: list[bytes], rate: float, per_connection: int = 20) -> Counter[str]:
    """Messages in batches, one connection per batch (a broken message may make the peer close it)."""
    codes: Counter[str] = Counter()

    async def read(reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            while line := await reader.readline():
                if line.startswith(b"SIP/2.0 ") and line[8:9].isdigit():
                    codes[line[8:9].decode() + "xx"] += 1

    for first in range(0, len(messages), per_connection):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            codes["connect_refused"] += 1
            await asyncio.sleep(0.2)
            continue
        reading = asyncio.ensure_future(read(reader))
        try:
            for msg in messages[first : first + per_connection]:
                writer.write(msg)
                await writer.drain()
                await asyncio.sleep(1 / rate)
            await asyncio.sleep(0.05)  # (replies to the last few)
        except ConnectionError:
            codes["connection_reset"] += 1
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            await asyncio.wait_for(asyncio.gather(reading, return_exceptions=True), 5)
    return codes


async def big_invite_answer(stack: Stack) -> dict[str, str]:
    """The front door's first answer to a 9 KB INVITE over UDP and over TCP ('' : none in 2 s)."""
    msg = BIG_INVITE.replace(b"{port}", str(stack.sip_port).encode())
    udp = await over_udp(stack.sip_port, [msg], 100)
    tcp = await over_tcp(stack.sip_port, [msg], 100)
    pick = [k for k in ("5xx", "4xx", "2xx", "1xx")]
    return {"udp": next((k for k in pick if udp[k]), ""), "tcp": next((k for k in pick if tcp[k]), "")}


async def processes(stack: Stack) -> dict[str, list[int]]:
    kamailio = await pids(f"kamailio -DD -E -f {stack.run_dir}/kamailio/")
    found = {
        "engine": await pids(f"voicebot engine --host 127.0.0.1 --port {stack.engine_port}"),
        "kamailio": [p for p in kamailio if parent(p) not in kamailio],
        "rtpengine": await pids(f"rtpengine --config-file {stack.run_dir}/rtpengine/"),
    }
    for n in (1, 2):
        found[f"worker-{n}"] = await pids(
            f"voicebot sip-worker --host 127.0.0.1 --port {stack.sip_port + n} --id w{n}$"
        )
    return found


async def normal_calls(stack: Stack, work: Path, n: int) -> int:
    """`n` calls through the front door, each held 2 s; how many were answered and recorded as such."""
    work.mkdir()  # noqa: ASYNC240 (once, before any call)
    scenario = render("uac_listen.xml", work / "call.xml", WAV=silence_file(work / "s.ul"), HOLD_MS=2000)
    ok = 0
    for i in range(n):
        (work / str(i)).mkdir()
        result = await call_once(scenario, stack.sip_port, work / str(i))
        if result.successful != 1:
            continue
        with contextlib.suppress(TimeoutError, KeyError):
            record, _ = await call_of(stack, result.call_id_prefix)
            ok += record.get("outcome") == "caller_hung_up"
    return ok


async def run(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-torture-") as tmp:
        root = Path(tmp)
        async with running_stack(root, 2) as stack:
            before = await processes(stack)
            targets = {"front_udp": stack.sip_port, "front_tcp": stack.sip_port, "worker_udp": stack.sip_port + 1}
            sent: Counter[str] = Counter()
            replies: dict[str, dict[str, int]] = {}
            started = time.monotonic()
            for name, port in targets.items():
                bases = base_messages(port)
                torture = [m.replace(b"{port}", str(port).encode()) for m in TORTURE]
                mutated = [mutate(rng.choice(bases), rng) for _ in range(args.mutations)]
                messages = torture + mutated
                send = over_tcp if name.endswith("tcp") else over_udp
                codes = await send(port, messages, args.rate)
                sent[name] = len(messages)
                replies[name] = dict(codes)
                print(
                    f"{name}: {len(messages)} sent ({len(torture)} torture, {len(mutated)} mutated); replies {dict(codes)}"
                )
            seconds = time.monotonic() - started
            big = await big_invite_answer(stack)
            await asyncio.sleep(SETTLE_S)
            after = await processes(stack)
            calls_ok = await normal_calls(stack, root / "calls", args.calls)
            log = (root / "stack.log").read_text(errors="replace")
    gc.collect()  # subprocess transports in reference cycles go now, while their loop still runs
    died = sorted(name for name in before if before[name] != after.get(name))
    restarts = log.count(" exited with ")
    crashes = log.count("Segmentation fault") + log.count("Traceback")
    total = sum(sent.values())
    print(f"{total} messages in {seconds:.0f} s; processes that changed: {died or 'none'}; supervisor restarts: "
          f"{restarts}; tracebacks/segfaults logged: {crashes}")  # fmt: skip
    lines = log.splitlines()
    marks = ("Traceback", " exited with ", "Segmentation fault")
    for at in [i for i, line in enumerate(lines) if any(m in line for m in marks)][:3]:
        print("  " + "\n  ".join(lines[max(0, at - 3) : at + 25]))  # (what crashed, from the stack's log)
    print(f"9 KB INVITE at the front door: UDP {big['udp'] or 'no answer'}, TCP {big['tcp'] or 'no answer'}")
    print(f"normal calls afterwards: {calls_ok}/{args.calls} answered, held and recorded")
    return {"messages": total, "mutations_per_target": args.mutations, "crashes": len(died) + crashes,
            "restarts": restarts, "processes_changed": died, "big_invite": big, "calls_ok": calls_ok,
            "calls": args.calls, "later_calls_ok": calls_ok == args.calls, "replies": replies}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mutations", type=int, default=10_000, help="mutated messages per target")
    parser.add_argument("--rate", type=float, default=500.0, help="messages per second")
    parser.add_argument("--calls", type=int, default=4, help="normal calls afterwards")
    parser.add_argument("--seed", type=int, default=4475)
    args = parser.parse_args()
    if not (0 < args.mutations <= 50_000 and 0 < args.rate <= 5000 and 0 < args.calls <= 20):
        sys.exit("bounded: mutations 1-50000, rate 1-5000/s, calls 1-20")
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
