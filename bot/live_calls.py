"""The live-calls page's data, read from the call state in Redis (bot/state.py): the calls up now and
the recent ones, one call's record and transcript, the last hour in minutes, the live feed as
server-sent events, and a hang-up request the call's worker carries out (`hangup:<call_id>`).

Routes (beside /metrics and the calls API on `voicebot run`'s HTTP port; bot/live_page.py guards them):

  GET  /live/calls                  {"live": [record...], "recent": [record...]}
  GET  /live/calls/{id}             {"record": {...}, "transcript": [{"role", "text", "t"}...]}
  POST /live/calls/{id}/hangup      202: the worker holding the call ends it (outcome hung_up_by_request)
  GET  /live/stats                  calls started and the median reply gap per minute, the last hour
  GET  /live/events                 text/event-stream: `calls` (who is up), `line` (a transcript line)
  GET  /recordings/{id}             the call's stereo WAV (caller left, bot right)
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.state import text, text_dict

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RECENT = 50  # ended calls listed
HOUR_CALLS = 2000  # calls read for the last hour's chart, at most
FEED_EVERY_S = 0.5  # how often the feed looks for new lines
FEED_MAX_S = 3600.0  # one feed connection lasts at most this long (the browser reconnects by itself)
HANGUP_TTL_S = 60  # a hang-up request no worker took is forgotten


def hangup_key(call_id: str) -> str:
    return f"hangup:{call_id}"


async def hang_ups_for(redis: Redis, call_ids: list[str]) -> list[str]:
    """Of these calls, the ones someone asked to hang up (and the requests taken)."""
    if not call_ids:
        return []
    async with redis.pipeline(transaction=False) as p:
        for call_id in call_ids:
            p.getdel(hangup_key(call_id))
        asked = await p.execute()
    return [c for c, a in zip(call_ids, asked, strict=True) if a]


def _summary(record: dict[str, str], now: float) -> dict[str, Any]:
    started = float(record.get("started") or now)
    ended = float(record["ended"]) if record.get("ended") else None
    gaps = json.loads(record.get("reply_gaps") or "[]")
    return {
        "call_id": record.get("call_id", ""),
        "caller": record.get("caller", ""),
        "callee": record.get("callee", ""),
        "direction": record.get("direction", "inbound"),
        "state": record.get("state", ""),
        "outcome": record.get("outcome", ""),
        "started": started,
        "duration_s": round((ended or now) - started, 1),
        "worker": record.get("worker", ""),
        "recording": bool(record.get("recording")),
        "reply_gap_ms": int(statistics.median(g for _, g in gaps)) if gaps else None,
    }


class LiveCalls:
    def __init__(self, redis: Redis, recordings: Path | None, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.recordings = recordings
        self._clock = clock

    async def _records(self, call_ids: list[str]) -> list[dict[str, str]]:
        async with self.redis.pipeline(transaction=False) as p:
            for call_id in call_ids:
                p.hgetall(f"call:{call_id}")
            got = await p.execute()
        return [text_dict(r) for r in got if r]

    async def _tools_of(self, call_ids: list[str]) -> dict[str, list[str]]:
        async with self.redis.pipeline(transaction=False) as p:
            for call_id in call_ids:
                p.xrange(f"call:{call_id}:transcript")
            got = await p.execute()
        out: dict[str, list[str]] = {}
        for call_id, entries in zip(call_ids, got, strict=True):
            lines = [text_dict(f) for _, f in entries or []]
            out[call_id] = sorted({ln.get("text", "").split(" ", 1)[0] for ln in lines if ln.get("role") == "tool"})
        return out

    async def calls(self) -> dict[str, Any]:
        now = self._clock()
        live_ids = sorted(text(c) for c in await self.redis.smembers("calls:live"))
        recent_ids = [text(c) for c in await self.redis.zrevrange("calls:recent", 0, RECENT + len(live_ids) - 1)]
        ended_ids = [c for c in recent_ids if c not in set(live_ids)][:RECENT]
        live = [_summary(r, now) for r in await self._records(live_ids)]
        recent = [_summary(r, now) for r in await self._records(ended_ids)]
        tools = await self._tools_of([r["call_id"] for r in recent])
        for r in recent:
            r["tools"] = tools.get(r["call_id"], [])
        live.sort(key=lambda r: r["started"])
        return {"live": live, "recent": recent, "now": now}

    async def call(self, call_id: str) -> dict[str, Any] | None:
        record = text_dict(await self.redis.hgetall(f"call:{call_id}"))
        if not record:
            return None
        entries: Any = await self.redis.xrange(f"call:{call_id}:transcript")
        lines = [{k: v for k, v in text_dict(f or {}).items() if k in ("role", "text", "t", "event")}
                 for _, f in entries or []]  # fmt: skip
        return {"record": record, "summary": _summary(record, self._clock()), "transcript": lines}

    async def stats(self) -> dict[str, Any]:
        """The last hour by minute: calls started, and the median reply gap of calls that ended."""
        now = self._clock()
        ids = [text(c) for c in await self.redis.zrangebyscore("calls:recent", now - 3600, now, 0, HOUR_CALLS)]
        minutes: list[dict[str, Any]] = [{"minute": m, "calls": 0, "gaps": []} for m in range(60)]
        for record in await self._records(ids):
            started = float(record.get("started") or now)
            slot = minutes[min(59, max(0, int((now - started) // 60)))]
            slot["calls"] += 1
            slot["gaps"] += [g for _, g in json.loads(record.get("reply_gaps") or "[]")]
        by_minute = [
            {
                "ago": m["minute"],
                "calls": m["calls"],
                "reply_gap_ms": int(statistics.median(m["gaps"])) if m["gaps"] else None,
            }
            for m in minutes
        ]
        return {"now": now, "minutes": by_minute}

    async def ask_hang_up(self, call_id: str) -> bool:
        if not await self.redis.sismember("calls:live", call_id):
            return False
        await self.redis.set(hangup_key(call_id), "1", ex=HANGUP_TTL_S)
        return True

    async def feed(self, send: Callable[[str, Any], Awaitable[None]]) -> None:
        """Who is up whenever that changes, and every new transcript line of a live call, until the
        connection goes (or FEED_MAX_S). A new call is announced before its lines."""
        last_ids: dict[str, str] = {}
        shown: list[str] | None = None
        deadline = self._clock() + FEED_MAX_S
        while self._clock() < deadline:
            live = sorted(text(c) for c in await self.redis.smembers("calls:live"))
            if live != shown:  # (first: a new call's row is on the page before its lines)
                shown = live
                await send("calls", await self.calls())
            for call_id in live:
                last_ids.setdefault(call_id, "0-0")
            if last_ids:
                streams: dict[Any, Any] = {f"call:{c}:transcript": i for c, i in last_ids.items()}
                got: Any = await self.redis.xread(streams, count=200)
                for stream, entries in got or []:
                    call_id = text(stream).removeprefix("call:").removesuffix(":transcript")
                    for entry_id, fields in entries:
                        last_ids[call_id] = text(entry_id)
                        line = text_dict(fields)
                        await send("line", {"call_id": call_id, "role": line.get("role", ""),
                                            "text": line.get("text", ""), "t": line.get("t", "")})  # fmt: skip
            for call_id in [c for c in last_ids if c not in live]:
                del last_ids[call_id]
            await asyncio.sleep(FEED_EVERY_S)


def add_live_routes(app: web.Application, live: LiveCalls) -> None:
    @web.middleware
    async def state_unavailable(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Redis away: the page's data answers 503 and says so (the page shows it and retries)."""
        try:
            return await handler(request)
        except (RedisError, ConnectionRefusedError) as exc:
            if not request.path.startswith(("/live/", "/recordings/")):
                raise
            return web.json_response({"error": {"code": "state_unavailable", "message": f"Redis unreachable: {exc}"}},
                                     status=503)  # fmt: skip

    async def calls(request: web.Request) -> web.Response:
        return web.json_response(await live.calls())

    async def one(request: web.Request) -> web.Response:
        found = await live.call(request.match_info["id"])
        if found is None:
            return web.json_response({"error": {"code": "not_found", "message": "no such call"}}, status=404)
        return web.json_response(found)

    async def hang_up(request: web.Request) -> web.Response:
        if not await live.ask_hang_up(request.match_info["id"]):
            return web.json_response({"error": {"code": "not_live", "message": "no such call up now"}}, status=404)
        return web.json_response({"state": "hanging_up"}, status=202)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(await live.stats())

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)

        async def send(event: str, data: Any) -> None:
            await response.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())

        try:
            await live.feed(send)
        except (ConnectionError, RedisError, OSError) as exc:  # the browser left, or Redis did
            log.info("live feed ended: %s", exc)
        return response

    async def recording(request: web.Request) -> web.StreamResponse:
        if live.recordings is None:
            return web.json_response({"error": {"code": "recording_off", "message": "recording is off"}}, status=404)
        name = text(await live.redis.hget(f"call:{request.match_info['id']}", "recording") or "")
        root = live.recordings.resolve()
        path = (root / name).resolve()
        if not name or not path.is_relative_to(root):
            return web.json_response({"error": {"code": "not_found", "message": "no recording of that call"}},
                                     status=404)  # fmt: skip
        if not path.is_file():
            return web.json_response({"error": {"code": "gone", "message": "the recording was deleted (retention)"}},
                                     status=410)  # fmt: skip
        return web.FileResponse(path, headers={"Content-Type": "audio/wav"})

    app.middlewares.append(state_unavailable)
    app.router.add_get("/live/calls", calls)
    app.router.add_get("/live/calls/{id}", one)
    app.router.add_post("/live/calls/{id}/hangup", hang_up)
    app.router.add_get("/live/stats", stats)
    app.router.add_get("/live/events", events)
    app.router.add_get("/recordings/{id}", recording)
