"""Malformed Realtime events against the engine: does every bad event get a bounded `error`, does
the session go on, does the engine stay up?

Starts `voicebot engine` (a real process, so a crash is seen as its exit), opens `--sessions`
WebSocket sessions and sends `--events` events built by mutating valid client events of both
protocols: broken JSON, truncation, flipped and inserted bytes, wrong types, missing and unknown
fields, huge strings, deep nesting, lone surrogates, NaN and huge numbers, binary frames. After each
one a probe (`conversation.item.retrieve` of an item that does not exist, with its own event_id)
marks where that event's answers end. An event the protocol cannot take (not a JSON object with a
known `type`) must be answered by an `error`; a session that stops answering or closes is counted
and replaced. At the end a clean session must still hold a text turn.

Prints the figures; the last line is JSON: events, crashes, unanswered, sessions_lost,
max_error_bytes, later_turn_ok.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.engine_process import engine_process
from bot.realtime.client_events import CLIENT_EVENT_TYPES

PROBE_WAIT_S = 10.0
TOOL = {"type": "function", "name": "get_order_status", "description": "Look up an order.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}}  # fmt: skip
SEEDS: list[dict[str, Any]] = [
    {
        "type": "session.update",
        "session": {
            "modalities": ["text"],
            "instructions": "Be brief.",
            "tools": [TOOL],
            "turn_detection": None,
            "input_audio_format": "g711_ulaw",
        },
    },
    {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "output_modalities": ["text"],
            "audio": {"input": {"format": {"type": "audio/pcmu"}}},
        },
    },
    {"type": "input_audio_buffer.append", "audio": base64.b64encode(bytes(320)).decode()},
    {"type": "input_audio_buffer.commit"},
    {"type": "input_audio_buffer.clear"},
    {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "where's my order"}]},
    },
    {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": "call_1", "output": '{"status": "shipped"}'},
    },
    {"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0, "audio_end_ms": 500},
    {"type": "conversation.item.delete", "item_id": "item_1"},
    {"type": "conversation.item.retrieve", "item_id": "item_1"},
    {"type": "response.create", "response": {"modalities": ["text"], "instructions": "Say hi."}},
    {"type": "response.cancel"},
]
JUNK_VALUES: list[Any] = [None, True, -1, 0, 2**70, 1e308, "", "x" * 70_000, [], {}, [[[]]], "\ud800", "\x00",
                          {"type": "message"}, ["text", "audio", 7], "🦜" * 500]  # fmt: skip


def junk(rng: random.Random) -> Any:
    """A fresh copy of a junk value (a shared one, mutated later, could end up inside itself)."""
    return copy.deepcopy(rng.choice(JUNK_VALUES))


def _walk(node: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every value inside `node`."""
    out: list[tuple[Any, Any]] = []
    stack = [node]
    while stack:
        n = stack.pop()
        keys = list(n) if isinstance(n, dict) else range(len(n)) if isinstance(n, list) else []
        for k in keys:
            out.append((n, k))
            stack.append(n[k])
    return out


def _structural(rng: random.Random) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(event: dict[str, Any]) -> dict[str, Any]:
        places = _walk(event)
        if not places:  # every field deleted already
            event["type"] = junk(rng)
            return event
        container, key = rng.choice(places)
        roll = rng.random()
        if roll < 0.45:
            container[key] = junk(rng)
        elif roll < 0.65 and isinstance(container, dict):
            del container[key]
        elif roll < 0.8 and isinstance(container, dict):
            container[rng.choice(["zzz", "type", "event_id", "session", "item", "x" * 300])] = junk(rng)
        else:
            nest: Any = 1
            for _ in range(rng.choice([40, 500, 5000])):
                nest = [nest] if rng.random() < 0.5 else {"a": nest}
            container[key] = nest
        return event

    return change


def mutate(rng: random.Random, seed: dict[str, Any]) -> str | bytes:
    """One malformed (or, by chance, valid) event as it goes on the wire."""
    event = json.loads(json.dumps(seed))
    event["event_id"] = f"fuzz_{rng.getrandbits(40):x}"
    roll = rng.random()
    if roll < 0.45:
        for _ in range(rng.choice([1, 1, 2, 3])):
            event = _structural(rng)(event)
        try:
            return json.dumps(event, allow_nan=True)
        except (ValueError, RecursionError):
            return "[" * 100_000
    text = json.dumps(event)
    if roll < 0.6:
        return text[: rng.randrange(0, max(1, len(text)))]  # truncated
    if roll < 0.75:
        chars = list(text)
        for _ in range(rng.choice([1, 2, 8])):
            # (a lone surrogate goes as its JSON escape: raw, it is not UTF-8 and no text frame can carry it)
            chars[rng.randrange(len(chars))] = rng.choice(
                ['"', ",", ":", "[", "\\", "]", "{", "}", "\x00", "\\ud800", "\uffff"]
            )
        return "".join(chars)
    if roll < 0.82:
        return rng.choice(["", "null", "[]", "42", '"session.update"', "NaN", '{"type": NaN}', "{" * 20_000,
                           '{"type": "session.update", "type": "response.create"}',
                           '{"type": "' + "a" * 1_000_000 + '"}'])  # fmt: skip
    if roll < 0.9:
        return rng.randbytes(rng.choice([1, 64, 4096]))  # a binary frame
    return json.dumps({**event, "type": rng.choice(["session.updat", "RESPONSE.CREATE", "input_audio_buffer",
                                                      " response.create", "error", "session.created"])})  # fmt: skip


def must_refuse(wire: str | bytes) -> bool:
    """The protocol cannot take it: not text, not a JSON object, or no known event type."""
    if isinstance(wire, bytes):
        return True
    try:
        data = json.loads(wire)
    except (ValueError, RecursionError):
        return True
    return not isinstance(data, dict) or data.get("type") not in CLIENT_EVENT_TYPES


class Fuzzer:
    def __init__(self, url: str, seed: int) -> None:
        self.url = url
        self.rng = random.Random(seed)
        self.events = self.unanswered = self.sessions_lost = self.refused = 0
        self.max_error_bytes = 0
        self.codes: dict[str, int] = {}

    async def run(self, http: aiohttp.ClientSession, count: int) -> None:
        sent = 0
        while sent < count:
            async with http.ws_connect(self.url, max_msg_size=0) as ws:
                await self._expect(ws, "session.created")
                while sent < count:
                    sent += 1
                    if not await self._one(ws, sent):
                        self.sessions_lost += 1
                        break

    async def _one(self, ws: aiohttp.ClientWebSocketResponse, n: int) -> bool:
        wire = mutate(self.rng, self.rng.choice(SEEDS))
        self.events += 1
        try:
            if isinstance(wire, bytes):
                await ws.send_bytes(wire)
            else:
                await ws.send_str(wire)
            probe = f"probe_{n}"
            await ws.send_json({"type": "conversation.item.retrieve", "item_id": "no_such_item", "event_id": probe})
            errors = await self._until_probe(ws, probe)
        except (ConnectionError, TimeoutError, aiohttp.ClientError):
            return False
        if errors is None:
            return False
        if must_refuse(wire):
            if errors:
                self.refused += 1
            else:
                self.unanswered += 1
        return True

    async def _until_probe(self, ws: aiohttp.ClientWebSocketResponse, probe: str) -> list[dict[str, Any]] | None:
        """The error events before the probe's own answer; None if the session stopped answering."""
        errors: list[dict[str, Any]] = []
        deadline = time.monotonic() + PROBE_WAIT_S
        while (left := deadline - time.monotonic()) > 0:
            msg = await ws.receive(timeout=left)
            if msg.type != aiohttp.WSMsgType.TEXT:
                return None
            event = json.loads(msg.data)
            if event.get("type") != "error":
                continue
            self.max_error_bytes = max(self.max_error_bytes, len(msg.data.encode()))
            error = event.get("error", {})
            if error.get("event_id") == probe:
                return errors
            self.codes[str(error.get("code"))] = self.codes.get(str(error.get("code")), 0) + 1
            errors.append(event)
        return None

    async def _expect(self, ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
        while True:
            msg = await ws.receive(timeout=PROBE_WAIT_S)
            event: dict[str, Any] = json.loads(msg.data)
            if event.get("type") == kind:
                return event


async def later_turn_ok(url: str, http: aiohttp.ClientSession) -> bool:
    """A clean session after the fuzz: a typed question gets a text reply."""
    async with http.ws_connect(url) as ws:
        await ws.send_json({"type": "session.update", "session": {"modalities": ["text"], "turn_detection": None}})
        text = {"type": "input_text", "text": "Hi, what can you help me with?"}
        await ws.send_json({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                                         "content": [text]}})  # fmt: skip
        await ws.send_json({"type": "response.create"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            msg = await ws.receive(timeout=60)
            if msg.type != aiohttp.WSMsgType.TEXT:
                return False
            event = json.loads(msg.data)
            if event.get("type") == "response.done":
                return bool(event["response"]["output"]) and event["response"]["status"] == "completed"
    return False


def read_log(path: Path, keep: Path | None) -> str:
    """The engine's log (the run is over: nothing else is waiting), kept at `keep` if asked."""
    logged = path.read_text(errors="replace")
    if keep is not None:
        keep.write_text(logged)
    return logged


async def fuzz(events: int, sessions: int, seed: int, keep_log: Path | None = None) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="ws-fuzz-") as tmp:
        with (Path(tmp) / "engine.log").open("wb") as log:
            async with engine_process(log) as (base, engine), aiohttp.ClientSession() as http:
                fuzzers = [Fuzzer(f"{base}/v1/realtime?model=x", seed + i) for i in range(sessions)]
                started = time.monotonic()
                share = -(-events // sessions)
                await asyncio.gather(*(f.run(http, share) for f in fuzzers))
                elapsed = time.monotonic() - started
                crashed = engine.returncode is not None
                turn_ok = not crashed and await later_turn_ok(f"{base}/v1/realtime?model=x", http)
        logged = read_log(Path(tmp) / "engine.log", keep_log)
        tracebacks = logged.count("Traceback")
        failures = sorted({line for line in logged.splitlines() if re.match(r"^[\w.]+(Error|Exception)\b", line)})
    codes: dict[str, int] = {}
    for f in fuzzers:
        for code, n in f.codes.items():
            codes[code] = codes.get(code, 0) + n
    return {"events": sum(f.events for f in fuzzers), "crashes": int(crashed),
            "unanswered": sum(f.unanswered for f in fuzzers), "refused": sum(f.refused for f in fuzzers),
            "sessions_lost": sum(f.sessions_lost for f in fuzzers),
            "max_error_bytes": max(f.max_error_bytes for f in fuzzers), "tracebacks_logged": tracebacks,
            "later_turn_ok": turn_ok, "seconds": round(elapsed, 1), "error_codes": codes,
            "failures": [f[:200] for f in failures]}  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log", type=Path, help="keep the engine's log here")
    args = parser.parse_args()
    r = await fuzz(args.events, args.sessions, args.seed, args.log)
    print(f"{r['events']} events in {r['seconds']} s over {args.sessions} sessions: {r['refused']} refused with an "
          f"error, {r['unanswered']} unanswered, {r['sessions_lost']} sessions lost, engine crashed: {bool(r['crashes'])}, "
          f"largest error {r['max_error_bytes']} bytes, tracebacks in the engine log {r['tracebacks_logged']}, "
          f"a clean turn afterwards: {r['later_turn_ok']}")  # fmt: skip
    print(f"error codes: {r['error_codes']}")
    print(json.dumps(r))


if __name__ == "__main__":
    asyncio.run(main())
