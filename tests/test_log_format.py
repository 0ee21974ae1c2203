"""Structured logs (VOICEBOT_LOG_FORMAT=json): one JSON object per line with the call and the turn it
belongs to, masked; the edge names the call to our engine, so the engine's lines carry the same call
id, and the turn id is the caller turn's conversation item id on both sides."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import aiohttp
import pytest

from bot.edge.engine_link import RealtimeTarget
from bot.log_format import CALL_ID, CALL_ID_HEADER, TURN, CallIdFilter, JsonFormatter, begin_turns
from bot.redact import RedactingFilter


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter())
    handler.addFilter(CallIdFilter())
    handler.setFormatter(JsonFormatter("sip-worker"))
    logger = logging.getLogger("test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)


async def test_each_line_is_one_object_with_the_call_of_the_task_that_logged(json_lines: io.StringIO) -> None:
    log = logging.getLogger("test.json")

    async def call(call_id: str) -> None:
        CALL_ID.set(call_id)
        log.info("caller said their card is %s", "4111 1111 1111 1111")

        async def tool() -> None:  # a task the call starts logs under the call too
            log.warning("tool slow")

        await asyncio.create_task(tool())

    await asyncio.gather(call("call-A"), call("call-B"))
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("outside any call")
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    in_calls = sorted((line["call_id"], line["msg"]) for line in lines if "call_id" in line)
    card = "caller said their card is [card ending 1111]"  # masked before it is written
    assert in_calls == [("call-A", card), ("call-A", "tool slow"), ("call-B", card), ("call-B", "tool slow")], lines
    last = lines[-1]
    assert "call_id" not in last and last["level"] == "error" and "ValueError: boom" in last["exc"]
    assert {line["process"] for line in lines} == {"sip-worker"} and all(
        line["ts"].endswith("+00:00") for line in lines
    )


async def test_our_engine_logs_a_session_under_the_call_the_edge_names(engine_url: str,
                                                                       caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    caplog.handler.addFilter(CallIdFilter())
    target = RealtimeTarget(f"{engine_url.replace('http', 'ws')}/v1/realtime", call_id="sip-call-42")
    assert target.headers()[CALL_ID_HEADER] == "sip-call-42"
    assert CALL_ID_HEADER not in RealtimeTarget("wss://example.invalid", kind="openai", call_id="x").headers()
    with caplog.at_level(logging.INFO, logger="bot.engine.server"):
        async with aiohttp.ClientSession() as http, http.ws_connect(target.url, headers=target.headers()) as ws:
            assert json.loads((await ws.receive()).data)["type"] == "session.created"
        await asyncio.sleep(0.2)  # the server logs the close after the client left
    opened = [r for r in caplog.records if "opened" in r.getMessage()]
    assert opened and all(getattr(r, "call_id", None) == "sip-call-42" for r in opened), caplog.records


async def test_lines_carry_the_turn_the_call_is_in_from_every_task_of_the_call(json_lines: io.StringIO) -> None:
    log = logging.getLogger("test.json")
    moved = asyncio.Event()

    async def call() -> None:
        CALL_ID.set("call-T")
        cell = begin_turns()
        log.info("greeting")  # before any caller turn: no turn id

        async def uplink() -> None:  # another task of the call, started before the turn moved on
            await moved.wait()
            log.info("frames")

        task = asyncio.create_task(uplink())
        cell.turn_id = "item_1"
        moved.set()
        await task

    await asyncio.create_task(call())  # (a call session is a task of its own)
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    assert [(line["msg"], line.get("turn_id")) for line in lines] == [("greeting", None), ("frames", "item_1")]
    assert TURN.get() is None  # (the call's cell stayed in the call's context)


async def test_our_engine_logs_under_the_turn_it_committed(engine_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(CallIdFilter())
    target = RealtimeTarget(f"{engine_url.replace('http', 'ws')}/v1/realtime", call_id="sip-call-43")
    with caplog.at_level(logging.INFO, logger="bot.engine"):
        async with aiohttp.ClientSession() as http, http.ws_connect(target.url, headers=target.headers()) as ws:
            await ws.send_json({"type": "session.update", "session": {"turn_detection": None}})
            audio = base64.b64encode(bytes(24000 * 2 // 2)).decode()  # 0.5 s of silence, pcm16 24 kHz
            await ws.send_json({"type": "input_audio_buffer.append", "audio": audio})
            await ws.send_json({"type": "input_audio_buffer.commit"})
            async with asyncio.timeout(10):
                while (event := json.loads((await ws.receive()).data))["type"] != "input_audio_buffer.committed":
                    pass
        await asyncio.sleep(0.2)  # the server logs the close after the client left
    closed = [r for r in caplog.records if getattr(r, "call_id", None) == "sip-call-43" and "closed" in r.getMessage()]
    assert closed and all(getattr(r, "turn_id", None) == event["item_id"] for r in closed), caplog.records


PJSIP_PROCESS = """
import logging, sys
from bot.log_format import configure
from sip.endpoint import EndpointConfig, SipEndpoint
from tests.stack import free_sip_port
configure("info", "json", "sip-worker")
endpoint = SipEndpoint(EndpointConfig(port=free_sip_port(1), log_level=3))
endpoint.destroy()
"""


def test_pjsips_own_lines_come_out_as_json_lines_and_nothing_on_the_console() -> None:
    """A SIP endpoint with pjsip logging at info (level 3): its lines are records of `pjsip.<file>`
    loggers in the process's JSON stream; pjsip prints nothing of its own (libCreate included)."""
    done = subprocess.run([sys.executable, "-c", PJSIP_PROCESS], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "", done.stdout  # (pjsip's console lines would be here)
    lines = [json.loads(line) for line in done.stderr.splitlines()]  # (every line one JSON object)
    core = [line for line in lines if line["logger"] == "pjsip.pjsua_core"]
    assert any("pjsua version" in line["msg"] for line in core), lines
    assert all(line["process"] == "sip-worker" and line["level"] == "info" for line in core)
