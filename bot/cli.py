"""`voicebot` command line."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="voicebot", description="Contact-center voice bot")
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    engine = sub.add_parser("engine", help="run the offline realtime engine (Realtime / Voice Live protocol)")
    engine.add_argument("--host", default=None)
    engine.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    if args.command == "engine":
        from bot.engine.server import serve

        serve(settings, args.host or settings.engine_host, args.port or settings.engine_port)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
