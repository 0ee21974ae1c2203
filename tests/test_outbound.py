"""Outbound calls (bot/dialer.py): asked for in Redis, placed by a worker with a free line through
the same call session, callees played by SIPp UAS scenarios: one answers, one is busy, one declines,
one rings until the bot gives up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.dialer import ask_hang_up, request_call, status
from tests.audio import phone_ulaw
from tests.sipp import render, sipp_callee, ulaw_file
from tests.stack import VOICEBOT, Stack, answering_phone, call_of, free_port, free_sip_port, lone_worker, phone_report

REMINDER = ("You are calling {name} from Acme Telecom to remind them of their appointment on {day}. "
            "Say who you are and why you call, then answer their questions.")  # fmt: skip


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def until(redis: Redis, dial_id: str, state: str, within_s: float) -> dict[str, str]:
    async with asyncio.timeout(within_s):
        while True:  # (a worker in another process writes it: polled)
            now = await status(redis, dial_id)
            if now.get("state") == state:
                return now
            await asyncio.sleep(0.2)


async def callee(scenario: str, work: Path, calls: int = 1, **values: object) -> tuple[int, asyncio.Task]:  # type: ignore[type-arg]
    work.mkdir()  # noqa: ASYNC240 (before the callee starts)
    port = free_port(socket.SOCK_DGRAM)
    rendered = render(scenario, work / "callee.xml", **{"FROM": ".*", **values})
    media = free_sip_port(3)  # SIPp binds audio RTP there and video at +2 (a random one met the workers' RTP)
    return port, await sipp_callee(rendered, port=port, workdir=work, media_port=media, calls=calls, timeout_s=120)


async def test_an_outbound_call_answered_greets_the_callee_and_ends_on_request(stack: Stack, redis_url: str,
                                                                              redis: Redis, tmp_path: Path) -> None:  # fmt: skip
    hello = ulaw_file(b"\xff" * 2400 + phone_ulaw("Hello?") + b"\xff" * 240_000, tmp_path / "hello.ul")
    port, sipp = await callee("uas_answer.xml", tmp_path / "answer", WAV=hello, RING_MS=800, WAIT_MS=40000)
    engine = f"ws://127.0.0.1:{stack.engine_port}/v1/realtime"
    async with lone_worker(engine, redis_url):
        dial_id = await request_call(redis, f"sip:+15550123@127.0.0.1:{port}", REMINDER,
                                     {"name": "Dana", "day": "Thursday"})  # fmt: skip
        answered = await until(redis, dial_id, "answered", 20)
        record, lines = await call_of(redis_url, answered["call_id"], until="active")
        async with asyncio.timeout(20):  # the bot speaks first on a call it placed
            while not any(line["role"] == "bot" for line in lines):  # (written by the worker: polled)
                await asyncio.sleep(0.3)
                _, lines = await call_of(redis_url, answered["call_id"], until="active")
        assert await ask_hang_up(redis, dial_id)
        ended = await until(redis, dial_id, "ended", 15)
    assert ended["outcome"] == "hung_up_by_request" and ended["amd"] == "human", ended  # it spoke after their hello
    assert record["direction"] == "outbound" and record["dial_id"] == dial_id
    assert f"127.0.0.1:{port}" in record["callee"]
    assert (await sipp).successful == 1  # the callee got the bot's BYE


async def test_a_number_dialed_leaves_through_the_trunk_and_answers_its_challenge(stack: Stack, redis_url: str,
                                                                                 redis: Redis, tmp_path: Path) -> None:  # fmt: skip
    """With a trunk account, a bare number goes to the outbound route (the trunk), which challenges
    the INVITE: the worker answers with the account's digest credentials, and the call is answered."""
    registrar = render("uas_registrar.xml", tmp_path / "registrar.xml", USER="acme", PASSWORD="tr0nk-pass")
    registrar_port = free_sip_port(1)
    registering = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(registrar), "-i", "127.0.0.1", "-p", str(registrar_port), "-m", "1", "-nostdin",
        "-timeout", "60s", cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    hello = ulaw_file(b"\xff" * 2400 + phone_ulaw("Hello, who's this?") + b"\xff" * 240_000, tmp_path / "hello.ul")
    port, trunk = await callee("uas_trunk_auth.xml", tmp_path / "trunk", WAV=hello, WAIT_MS=40000, USER="acme",
                               PASSWORD="tr0nk-pass")  # fmt: skip
    engine = f"ws://127.0.0.1:{stack.engine_port}/v1/realtime"
    try:
        async with lone_worker(engine, redis_url, VOICEBOT_TRUNK_REGISTRAR=f"sip:127.0.0.1:{registrar_port}",
                               VOICEBOT_TRUNK_USER="acme", VOICEBOT_TRUNK_PASSWORD="tr0nk-pass",
                               VOICEBOT_OUTBOUND_ROUTE=f"sip:127.0.0.1:{port}"):  # fmt: skip
            dial_id = await request_call(redis, "+15550199", REMINDER, {"name": "Lee", "day": "Monday"})
            answered = await until(redis, dial_id, "answered", 20)
            assert await ask_hang_up(redis, dial_id)
            ended = await until(redis, dial_id, "ended", 15)
    finally:
        with contextlib.suppress(ProcessLookupError):
            registering.kill()
        await registering.wait()
    record, _ = await call_of(redis_url, answered["call_id"])
    assert ended["outcome"] == "hung_up_by_request", ended
    assert f"sip:+15550199@127.0.0.1:{port}" in record["callee"], record
    result = await trunk
    assert result.successful == 1, result.stderr + (tmp_path / "trunk" / "errors.log").read_text(errors="replace")


async def test_busy_declined_and_unanswered_calls_are_told_apart(stack: Stack, redis_url: str, redis: Redis,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    engine = f"ws://127.0.0.1:{stack.engine_port}/v1/realtime"
    async with lone_worker(engine, redis_url, VOICEBOT_RING_TIMEOUT_S="8",  # (a loaded machine answers late)
                           VOICEBOT_CALLER_ID="+15551230000"):  # fmt: skip
        for name, scenario, values, outcome, sip_status in (
            (
                "busy",
                "uas_refuse.xml",
                {"CODE": 486, "REASON": "Busy Here", "FROM": "sip:[+]15551230000@"},
                "busy",
                "486",
            ),
            ("declined", "uas_refuse.xml", {"CODE": 603, "REASON": "Decline"}, "rejected", "603"),
            ("ringing", "uas_ring.xml", {"WAIT_MS": 20000}, "no_answer", None),
        ):
            port, sipp = await callee(scenario, tmp_path / name, **values)
            dial_id = await request_call(redis, f"sip:+15550124@127.0.0.1:{port}")
            ended = await until(redis, dial_id, "ended", 40)
            assert ended["outcome"] == outcome, f"{name}: {ended}"
            if sip_status is not None:
                assert ended["sip_status"] == sip_status, f"{name}: {ended}"
            assert (await sipp).successful == 1, name


VISIT = ("Greeting: Hi {name}, this is Acme Telecom calling about your technician visit tomorrow. Is now a good time?\n"
         "The technician arrives between 10 am and noon and the visit takes about an hour.\n"
         "Please have your router and its power cable ready for the technician.")  # fmt: skip


async def test_a_person_who_answers_holds_a_two_turn_conversation(stack: Stack, tmp_path: Path) -> None:
    """A callee (a pjsua2 phone) picks up with "Hello?": the bot introduces the call from its
    instructions, then answers two of the callee's questions from them, over real SIP."""
    port = free_sip_port(1)
    phone = await answering_phone(port, "Oh, okay, yes. Um, what time will the technician get here?",
                                  "Okay. And how long does the visit usually take?",
                                  first="Hello?")  # fmt: skip
    redis = Redis.from_url(stack.redis_url)
    try:
        dial_id = await request_call(redis, f"sip:+15550177@127.0.0.1:{port}", VISIT, {"name": "Jordan"})
        heard, out = await phone_report(phone)
        ended = await until(redis, dial_id, "ended", 30)
    finally:
        await redis.aclose()
    assert heard["connected"], out
    assert "technician visit" in heard["greeting"].lower() and "jordan" in heard["greeting"].lower(), out
    first, second = (said.lower() for said in heard["bot"])
    assert "10" in first or "ten" in first, out  # between 10 am and noon
    assert "hour" in second, out  # about an hour
    record, lines = await call_of(stack, ended["call_id"])
    assert record["direction"] == "outbound" and ended["amd"] == "human", (record, ended)
    assert [line["role"] for line in lines if line["role"] in ("caller", "bot")].count("bot") >= 3, lines


async def test_a_call_into_a_phone_menu_presses_the_key_for_its_goal(stack: Stack) -> None:
    """No answering-machine detection (a menu is a long greeting); the bot says nothing over the menu
    and presses the option its instructions' goal asks for (RFC 4733, heard by the callee's phone)."""
    port = free_sip_port(1)
    menu = ("Thank you for calling Globex. Please listen carefully, as our options have changed. For sales, "
            "press one. For billing and invoices, press two. For technical support, press three.")  # fmt: skip
    phone = await answering_phone(port, first=menu, end_silence_s=3.0)
    goal = "You are calling Globex on behalf of Acme Telecom.\nGoal: reach billing to ask about invoice 4471."
    redis = Redis.from_url(stack.redis_url)
    try:
        dial_id = await request_call(redis, f"sip:+15550188@127.0.0.1:{port}", goal, amd=False)
        heard, out = await phone_report(phone)
        ended = await until(redis, dial_id, "ended", 30)
    finally:
        await redis.aclose()
    assert heard["connected"] and heard["keys_heard"] == "2", out
    _, lines = await call_of(stack, ended["call_id"])
    assert any(line["role"] == "tool" and line["text"].startswith("press_keys") for line in lines), lines
    assert "amd" not in ended, ended


async def test_voicebot_dial_follows_the_call_to_its_outcome(stack: Stack, redis_url: str, tmp_path: Path) -> None:
    engine = f"ws://127.0.0.1:{stack.engine_port}/v1/realtime"
    async with lone_worker(engine, redis_url):
        port, sipp = await callee("uas_refuse.xml", tmp_path / "busy", CODE=486, REASON="Busy Here")
        proc = await asyncio.create_subprocess_exec(
            VOICEBOT, "dial", f"sip:+15550125@127.0.0.1:{port}", "--var", "name=Sam", "--wait-s", "30",
            env={**os.environ, "REDIS_URL": redis_url}, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    states = [json.loads(line) for line in out.decode().splitlines()]
    assert proc.returncode == 0 and states[0]["state"] == "queued"
    assert states[-1]["state"] == "ended" and states[-1]["outcome"] == "busy" and states[-1]["sip_status"] == "486"
    assert (await sipp).successful == 1


async def test_the_calls_api_places_follows_and_hangs_up_a_call(stack: Stack, tmp_path: Path) -> None:
    """POST /calls on the supervisor's port (the shared stack: 4 workers behind Kamailio), then GET
    until answered, DELETE, GET until ended; no key or a wrong one: 401, and no call."""
    import aiohttp

    hello = ulaw_file(b"\xff" * 2400 + phone_ulaw("Hi, yes?") + b"\xff" * 240_000, tmp_path / "hello.ul")
    port, sipp = await callee("uas_answer.xml", tmp_path / "answer", WAV=hello, RING_MS=300, WAIT_MS=40000)
    base = f"http://127.0.0.1:{stack.env['VOICEBOT_METRICS_PORT']}/calls"
    key = {"Authorization": f"Bearer {stack.env['VOICEBOT_API_KEY']}"}
    body = {"uri": f"sip:+15550126@127.0.0.1:{port}", "instructions": REMINDER, "variables": {"name": "Ana"}}
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            async with http.post(base, json=body, headers=headers) as r:
                assert r.status == 401 and (await r.json())["error"]["code"] == "invalid_api_key"
        async with http.post(base, json={"uri": "tel:12"}, headers=key) as r:
            assert r.status == 400
        async with http.post(base, json=body, headers=key) as r:
            assert r.status == 201
            dial_id = (await r.json())["id"]

        async def state_is(wanted: str) -> dict[str, str]:
            async with asyncio.timeout(20):
                while True:  # (polled, as a client of the API would)
                    async with http.get(f"{base}/{dial_id}", headers=key) as r:
                        now: dict[str, str] = await r.json()
                    if now.get("state") == wanted:
                        return now
                    await asyncio.sleep(0.2)

        await state_is("answered")
        async with http.delete(f"{base}/{dial_id}", headers=key) as r:
            assert r.status == 202
        ended = await state_is("ended")
        async with http.get(f"{base}/nope", headers=key) as r:
            assert r.status == 404
    assert ended["outcome"] == "hung_up_by_request"
    assert (await sipp).successful == 1


async def test_a_campaign_calls_everyone_once_retries_the_busy_and_resumes_after_a_kill(stack: Stack, redis_url: str,
                                                                                       tmp_path: Path) -> None:  # fmt: skip
    """20 contacts, 4 calls at once, 2 per second: 15 answer (and hang up after 1.5 s), 5 are busy
    every time (so each is called twice). The runner is killed (SIGKILL) mid-way and started again:
    the callees' own counts show nobody was called more often than that."""
    hello = ulaw_file(phone_ulaw("Hello?"), tmp_path / "hello.ul")
    answer_port, answers = await callee("uas_answer_hangup.xml", tmp_path / "answer", WAV=hello, RING_MS=200,
                                        HOLD_MS=1500, calls=15)  # fmt: skip
    busy_port, busies = await callee("uas_refuse.xml", tmp_path / "busy", CODE=486, REASON="Busy Here", calls=10)
    rows = ["number,name"] + [f"sip:+1555020{i:02d}@127.0.0.1:{busy_port if i % 4 == 0 else answer_port},Caller {i}"
                              for i in range(20)]  # fmt: skip
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("\n".join(rows) + "\n")
    name = f"test-{random.randrange(10**6)}"
    args = [VOICEBOT, "campaign", str(contacts), "--name", name, "--concurrency", "4", "--pace", "2",
            "--retries", "1", "--retry-delay-s", "1"]  # fmt: skip
    env = {**os.environ, "REDIS_URL": redis_url}
    engine = f"ws://127.0.0.1:{stack.engine_port}/v1/realtime"
    async with lone_worker(engine, redis_url, worker_id="w1"), lone_worker(engine, redis_url, worker_id="w2"):
        first = await asyncio.create_subprocess_exec(*args, env=env, stdout=asyncio.subprocess.PIPE)
        assert first.stdout is not None
        async with asyncio.timeout(60):
            dialed = 0
            while dialed < 8:  # then killed mid-way: calls in flight, contacts left
                line = (await first.stdout.readline()).decode()
                assert line, "the campaign ended before it could be killed"
                found = re.search(r"(\d+) dialed", line)
                dialed = int(found.group(1)) if found else dialed
        first.kill()
        await first.wait()
        second = await asyncio.create_subprocess_exec(*args, env=env, stdout=asyncio.subprocess.PIPE)
        out, _ = await asyncio.wait_for(second.communicate(), 120)
    summary = json.loads(out.decode().splitlines()[-1])
    assert summary["outcomes"] == {"answered": 15, "busy": 5}, summary
    assert summary["dialed"] == 25, summary  # 15 + 5 x 2
    answered, busy = await answers, await busies
    assert (answered.successful, answered.failed) == (15, 0)
    assert (busy.successful, busy.failed) == (10, 0)


def beep(ms: int = 400, hz: float = 1000.0) -> bytes:
    """An answering machine's tone, mu-law, at -10 dBFS."""
    import numpy as np

    from bot.audio import g711

    t = np.arange(8 * ms) / 8000
    return g711.pcm16_to_ulaw((np.sin(2 * np.pi * hz * t) * 10000).astype(np.int16).tobytes())


async def test_a_machine_gets_the_voicemail_message_after_its_beep(stack: Stack, redis_url: str, redis: Redis,
                                                                   tmp_path: Path) -> None:  # fmt: skip
    greeting = phone_ulaw(
        "Hi, you've reached Dana. I can't take your call right now, please leave a message after the tone."
    )
    audio = ulaw_file(b"\xff" * 2400 + greeting + b"\xff" * 4000 + beep() + b"\xff" * 240_000, tmp_path / "machine.ul")
    port, sipp = await callee("uas_answer.xml", tmp_path / "machine", WAV=audio, RING_MS=300, WAIT_MS=60000)
    engine = f"ws://127.0.0.1:{stack.engine_port}/v1/realtime"
    async with lone_worker(engine, redis_url):
        dial_id = await request_call(redis, f"sip:+15550127@127.0.0.1:{port}")
        ended = await until(redis, dial_id, "ended", 60)
        _, lines = await call_of(redis_url, ended["call_id"])
    assert ended["outcome"] == "voicemail" and ended["amd"] == "machine" and ended["beep"] == "1", ended
    assert int(ended["amd_ms"]) < 4000, ended
    bot = [line["text"] for line in lines if line["role"] == "bot"]
    assert bot and "call us back" in bot[-1].lower(), bot  # the message, and nothing said over the greeting
    assert len(bot) == 1, bot
    assert (await sipp).successful == 1  # the bot hung up after its message
