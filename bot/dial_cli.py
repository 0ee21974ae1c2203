"""`voicebot dial URI`: ask the workers of a running `voicebot run` to call someone, and follow the
call until it ends (or only queue it, with --no-wait). Prints the request's state as JSON lines."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from redis.asyncio import Redis

from bot.dialer import DialError, request_call, status

POLL_S = 0.5


def variables(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SystemExit(f"--var {pair!r}: expected name=value")
        out[name.strip()] = value
    return out


async def dial(redis_url: str, uri: str, instructions: Path | None, pairs: list[str], wait_s: float,
               amd: bool = True) -> int:  # fmt: skip
    """0 once the call has ended (any outcome: it is in the JSON), 1 if it could not be asked for."""
    text = instructions.read_text() if instructions else None  # noqa: ASYNC240 (once, before anything runs)
    redis = Redis.from_url(redis_url)
    try:
        try:
            dial_id = await request_call(redis, uri, text, variables(pairs), amd=amd)
        except DialError as exc:
            print(json.dumps({"error": str(exc)}))
            return 1
        print(json.dumps({"id": dial_id, "state": "queued", "uri": uri}), flush=True)
        last: dict[str, str] = {}
        deadline = time.monotonic() + wait_s
        while wait_s and time.monotonic() < deadline:
            now = await status(redis, dial_id)
            if now.get("state") != last.get("state"):
                print(json.dumps({"id": dial_id, **now}), flush=True)
                last = now
            if now.get("state") == "ended":
                return 0
            await asyncio.sleep(POLL_S)
        return 0
    finally:
        await redis.aclose()


async def campaign(redis_url: str, contacts_csv: Path, plan_args: dict[str, object], dnc: Path | None,
                   instructions: Path | None) -> int:  # fmt: skip
    """`voicebot campaign`: progress lines while it runs, then one JSON summary line."""
    from bot.campaign import Campaign, Plan, Progress, Window, contacts_from_csv

    contacts = contacts_from_csv(contacts_csv.read_text())  # noqa: ASYNC240 (once, before anything runs)
    blocked = frozenset(n.strip() for n in dnc.read_text().split() if n.strip()) if dnc else frozenset()  # noqa: ASYNC240
    window = plan_args.pop("window")
    plan = Plan(**plan_args, window=Window.parse(str(window)) if window else None, do_not_call=blocked,  # type: ignore[arg-type]
                instructions=instructions.read_text() if instructions else None)  # noqa: ASYNC240  # fmt: skip
    redis = Redis.from_url(redis_url)

    def report(progress: Progress) -> None:
        print(progress.line(plan.name), flush=True)

    try:
        done = await Campaign(redis, plan, contacts).run(report)
    finally:
        await redis.aclose()
    print(json.dumps({"campaign": plan.name, "contacts": done.total, "dialed": done.dialed,
                      "outcomes": dict(done.outcomes)}), flush=True)  # fmt: skip
    return 0
