"""`voicebot calls`: recent calls and their transcripts, from Redis."""

from __future__ import annotations

import datetime as dt

from redis.asyncio import Redis

from bot.state import CallStore


async def print_calls(redis_url: str, count: int, transcripts: bool) -> int:
    redis = Redis.from_url(redis_url, socket_connect_timeout=2)
    try:
        store = CallStore(redis)
        ids = await store.recent(count)
        if not ids:
            print("no calls yet")
        for call_id in reversed(ids):
            r = await store.record(call_id)
            started = dt.datetime.fromtimestamp(float(r.get("started", 0))).strftime("%Y-%m-%d %H:%M:%S")
            print(f"{started}  {r.get('state', '?'):7} {r.get('outcome', '-'):16} {r.get('duration_s', '-'):>8}s  "
                  f"{r.get('worker', '?'):4} {r.get('caller', '?')}  {call_id}")  # fmt: skip
            if transcripts:
                for line in await store.transcript_of(call_id):
                    print(f"      {line['role']:>7}: {line['text']}")
        return 0
    finally:
        await redis.aclose()
