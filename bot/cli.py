"""`voicebot` command line: the engine, SIP workers, the supervisor, a softphone, and tools."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

from bot.log_format import configure
from bot.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="voicebot", description="Contact-center voice bot")
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)

    engine = sub.add_parser("engine", help="run the offline realtime engine (Realtime / Voice Live protocol)")
    engine.add_argument("--host", default=None)
    engine.add_argument("--port", type=int, default=None)
    engine.add_argument(
        "--standby",
        action="store_true",
        help="load everything, then wait for SIGUSR1 before listening (the supervisor's spare)",
    )

    worker = sub.add_parser("sip-worker", help="run one SIP worker (a pjsua2 endpoint bridging calls to the engine)")
    worker.add_argument("--host", default=None)
    worker.add_argument("--port", type=int, default=None)
    worker.add_argument("--id", default="w1", help="worker id recorded with each call")

    call = sub.add_parser("call", help="softphone: call the bot, speak, record, print transcript and latency")
    call.add_argument("uri", help="e.g. sip:bot@127.0.0.1:5060")
    what = call.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--say",
        action="append",
        help="an utterance (repeat for several turns); '@MS:text' says it "
        "MS ms into the bot's turn, over it; '?WORDS:text' says it only when the bot's last turn "
        "has WORDS (a regex; heard with our ASR); the text '*cough*' is a cough",
    )
    what.add_argument("--wav", type=Path, help="8 kHz mono 16-bit WAV to play as the caller")
    call.add_argument("--record", type=Path, help="write everything the bot sent to this WAV")
    call.add_argument("--from", dest="caller", default="softphone", help="caller ID (From user), e.g. +15550100")
    call.add_argument("--echo", action="store_true", help="the line returns the bot's voice (a hybrid or speakerphone)")
    call.add_argument("--echo-db", type=float, default=-12.0, help="echo level relative to the bot's voice")
    call.add_argument("--echo-delay-ms", type=int, default=60)
    call.add_argument("--noise-dbfs", type=float, default=-50.0, help="line noise level with --echo")
    call.add_argument(
        "--srtp", action="store_true", help="offer SRTP only (RTP/SAVP); with ;transport=tls: SIP over TLS"
    )
    call.add_argument("--end-silence-s", type=float, default=1.2, help="silence that ends the far end's turn")
    call.add_argument("--max-turn-s", type=float, default=20.0, help="longest the far end's turn is listened to")

    take = sub.add_parser("answer", help="softphone: take one call (a callee, an agent), speak, record, print")
    take.add_argument("--port", type=int, required=True, help="SIP port to listen on (127.0.0.1, UDP)")
    take.add_argument("--first", help="said as soon as the call is answered, e.g. 'Hello?'")
    take.add_argument("--say", action="append", help="an utterance, said after the far end's turn (repeat)")
    take.add_argument("--record", type=Path, help="write everything the far end sent to this WAV")
    take.add_argument("--wait-s", type=float, default=60.0, help="give up if no call comes in this long")
    take.add_argument("--ring-s", type=float, default=0.0, help="ring this long before answering")
    take.add_argument("--end-silence-s", type=float, default=1.2, help="silence that ends the far end's turn")
    take.add_argument("--max-turn-s", type=float, default=20.0, help="longest the far end's turn is listened to")

    run = sub.add_parser("run", help="run everything: Redis (if needed), the engine, SIP workers, Kamailio")
    run.add_argument("--sip-port", type=int, default=None)
    run.add_argument("--workers", type=int, default=1)

    kcfg = sub.add_parser("kamailio-config", help="render Kamailio's config for a set of worker ports")
    kcfg.add_argument("--out", type=Path, required=True)
    kcfg.add_argument("--sip-port", type=int, default=5060)
    kcfg.add_argument("--worker-ports", required=True, help="comma-separated, e.g. 5061,5062")

    dial = sub.add_parser("dial", help="place an outbound call through the running workers, follow it to its end")
    dial.add_argument("uri", help="e.g. sip:+15551230000@trunk.example.com")
    dial.add_argument("--instructions", type=Path, help="the bot's instructions for this call ({name}: a --var)")
    dial.add_argument("--var", action="append", default=[], help="name=value for the instructions (repeat)")
    dial.add_argument("--wait-s", type=float, default=600.0, help="follow the call this long (0: only queue it)")
    dial.add_argument("--no-amd", action="store_true", help="no answering-machine detection (a call into a phone menu)")

    camp = sub.add_parser("campaign", help="call a CSV of contacts (number + variables) through the workers")
    camp.add_argument("contacts", type=Path, help="CSV with a 'number' column (and optionally 'tz'), then variables")
    camp.add_argument("--name", required=True, help="the campaign's name: run it again to resume it")
    camp.add_argument("--concurrency", type=int, default=4, help="calls at once")
    camp.add_argument("--pace", type=float, default=2.0, help="calls started per second at most")
    camp.add_argument("--retries", type=int, default=1, help="more attempts for busy / unanswered contacts")
    camp.add_argument("--retry-delay-s", type=float, default=60.0)
    camp.add_argument("--window", help="allowed local hours, e.g. 09:00-20:00 (the contact's tz, else ours)")
    camp.add_argument("--uri-template", default="{number}", help="e.g. sip:{number}@trunk.example.com")
    camp.add_argument("--instructions", type=Path, help="the bot's instructions ({column}: the contact's value)")
    camp.add_argument("--dnc", type=Path, help="do-not-call list: one number per line")

    sub.add_parser("seed", help="load the demo CRM fixture into Redis")
    sub.add_parser("deliveries", help="post-call deliveries not yet made, and those given up on")
    mserve = sub.add_parser("metrics-server", help="serve GET /metrics from a folder of multiprocess metric files")
    mserve.add_argument("--dir", type=Path, required=True, help="the processes' PROMETHEUS_MULTIPROC_DIR")
    mserve.add_argument("--host", default="127.0.0.1")
    mserve.add_argument("--port", type=int, default=8080)

    mcp = sub.add_parser("mcp", help="serve the contact-center tools as an MCP server (stdio, or streamable HTTP)")
    mcp.add_argument("--caller", default="", help="the caller's number, for the tools that look callers up by it")
    mcp.add_argument(
        "--call-id", default=None, help="the call the tools' per-call state belongs to (default: a new one)"
    )
    mcp.add_argument("--http", type=int, default=None, metavar="PORT", help="serve streamable HTTP at /mcp on PORT")
    mcp.add_argument("--host", default="127.0.0.1")

    calls = sub.add_parser("calls", help="recent calls from Redis: outcome, duration, and transcripts")
    calls.add_argument("-n", type=int, default=10, help="how many")
    calls.add_argument("--transcript", action="store_true", help="print each call's transcript")

    args = parser.parse_args(argv)
    settings = Settings()
    configure(args.log_level, settings.log_format, args.command)
    if args.command == "engine":
        from bot.engine.server import serve
        from bot.errors import ConfigError

        try:
            serve(settings, args.host or settings.engine_host, args.port or settings.engine_port, standby=args.standby)
        except ConfigError as exc:
            print(f"voicebot engine: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "sip-worker":
        from sip.worker import SipWorker

        w = SipWorker(settings, args.id, args.host or settings.sip_host, args.port or settings.sip_port)
        asyncio.run(w.run())
        return 1 if w.failed else 0
    if args.command == "run":
        from bot.supervisor import Supervisor

        sup = Supervisor(settings, args.sip_port or settings.sip_port, args.workers, Path(settings.run_dir).resolve())
        asyncio.run(sup.run())
        return 0
    if args.command == "kamailio-config":
        from bot.front_door import FrontDoor

        ports = [int(p) for p in args.worker_ports.split(",")]
        print(FrontDoor.of(settings, args.sip_port, ports, args.out).render(args.out))
        return 0
    if args.command == "call":
        from softphone.cli import run_call
        from softphone.phone import LineEcho

        echo = LineEcho(args.echo_delay_ms, args.echo_db, args.noise_dbfs) if args.echo else None
        return asyncio.run(run_call(args.uri, args.say, args.wav, args.record, args.caller, echo, args.srtp,
                                    args.end_silence_s, args.max_turn_s))  # fmt: skip
    if args.command == "answer":
        from softphone.cli import run_answer

        return asyncio.run(run_answer(args.port, args.say, args.first, args.record, args.wait_s, args.ring_s,
                                      args.end_silence_s, args.max_turn_s))  # fmt: skip
    if args.command == "calls":
        from bot import private_redis
        from bot.calls_cli import print_calls

        private = private_redis.url_for(Path(settings.run_dir), "127.0.0.1", settings.redis_port)
        return asyncio.run(print_calls(settings.redis_url or private, args.n,
                                       args.transcript))  # fmt: skip
    if args.command == "dial":
        from bot import private_redis
        from bot.dial_cli import dial as dial_call

        url = settings.redis_url or private_redis.url_for(Path(settings.run_dir), "127.0.0.1", settings.redis_port)
        return asyncio.run(dial_call(url, args.uri, args.instructions, args.var, args.wait_s, not args.no_amd))
    if args.command == "campaign":
        from bot import private_redis
        from bot.dial_cli import campaign

        if not (0 < args.concurrency <= 1000 and 0 < args.pace <= 100 and 0 <= args.retries <= 10):
            raise SystemExit("bounded: concurrency 1-1000, pace 0-100/s, retries 0-10")
        url = settings.redis_url or private_redis.url_for(Path(settings.run_dir), "127.0.0.1", settings.redis_port)
        plan = {"name": args.name, "concurrency": args.concurrency, "pace_per_s": args.pace, "retries": args.retries,
                "retry_delay_s": args.retry_delay_s, "uri_template": args.uri_template, "window": args.window}  # fmt: skip
        return asyncio.run(campaign(url, args.contacts, plan, args.dnc, args.instructions))
    if args.command == "metrics-server":
        from bot.supervisor_metrics import serve_folder

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_folder(args.dir, args.host, args.port))
        return 0
    if args.command == "deliveries":
        from bot import private_redis
        from bot.post_call import print_deliveries

        url = settings.redis_url or private_redis.url_for(Path(settings.run_dir), "127.0.0.1", settings.redis_port)
        return asyncio.run(print_deliveries(url))
    if args.command == "mcp":
        from flows.mcp_server import serve as serve_mcp

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_mcp(settings, args.caller, args.call_id, args.http, args.host))
        return 0
    if args.command == "seed":
        from redis.asyncio import Redis

        from flows.crm import seed

        async def do_seed() -> int:
            redis = Redis.from_url(settings.redis_url or "redis://127.0.0.1:6379/0")
            try:
                return await seed(redis)
            finally:
                await redis.aclose()

        print(f"seeded {asyncio.run(do_seed())} CRM records")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
