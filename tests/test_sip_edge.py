"""The SIP edge under SIPp: concurrency with audio through Kamailio, failover, and bad SIP."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bot.state import CallStore
from sip.probe import options_ping
from tests.sipp import call_ids, call_once, capture, free_media_port, render, run_sipp, silence_file, speech_file
from tests.stack import (
    CRM_SECRET,
    VOICEBOT,
    Stack,
    bot_rtp_ports,
    call_id_of,
    call_of,
    free_sip_port,
    lone_worker,
    softphone,
)


async def test_twelve_concurrent_calls_with_audio_through_kamailio(stack: Stack, tmp_path: Path) -> None:
    wav = speech_file("What are your opening hours, please?", tmp_path / "caller.ul")
    scenario = render("uac_audio.xml", tmp_path / "uac.xml", WAV=wav, GREETING_MS=3000, LISTEN_MS=9000)
    ports = bot_rtp_ports(stack)
    async with capture(tmp_path / "rtp.pcap", "udp and not port 53") as cap:
        result = await run_sipp(scenario, f"127.0.0.1:{stack.sip_port}", calls=12, concurrency=12, rate=12,
                                workdir=tmp_path, media_port=free_media_port())  # fmt: skip
    assert result.returncode == 0, result.stderr + (tmp_path / "errors.log").read_text(errors="replace")
    assert (result.successful, result.failed) == (12, 0)
    flows = cap.analyse(ports)  # the bot's ports only: SIPp's random media port can fall between two workers' blocks
    speaking = [f for f in flows.values() if f.speech_packets >= 50]  # at least a second of bot speech each
    assert len(speaking) == 12, {k: (len(f.times), f.speech_packets) for k, f in flows.items()}

    redis = Redis.from_url(stack.redis_url)
    try:
        store = CallStore(redis)
        records = [await store.record(c) for c in await store.recent(12)]
        assert len({r["worker"] for r in records}) == 4  # spread over every worker
        assert all(r["state"] == "ended" for r in records)
    finally:
        await redis.aclose()


async def test_garbage_and_bad_invites_get_answers_and_no_worker_dies(stack: Stack, tmp_path: Path) -> None:
    worker = stack.sip_port + 1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for target in (stack.sip_port, worker):
            s.sendto(os.urandom(300), ("127.0.0.1", target))
            s.sendto(b"INVITE sip:bot@127.0.0.1 SIP/2.0\r\nVia: garbage\r\n\r\n", ("127.0.0.1", target))
            s.sendto(b"\r\n\r\n", ("127.0.0.1", target))
    for name, expected in (("uac_no_common_codec.xml", "488"), ("uac_no_sdp.xml", "200")):
        scenario = render(name, tmp_path / name)
        for target in (stack.sip_port, worker):
            result = await run_sipp(scenario, f"127.0.0.1:{target}", calls=1, concurrency=1, rate=1,
                                    workdir=tmp_path, media_port=free_media_port(), timeout_s=20)  # fmt: skip
            assert result.returncode == 0 and result.successful == 1, (name, expected, result.stderr)
    for port in (stack.sip_port, *range(stack.sip_port + 1, stack.sip_port + 5)):
        assert await options_ping("127.0.0.1", port) == 200, port


async def test_killed_worker_gets_no_new_calls(stack: Stack, tmp_path: Path) -> None:
    victim = stack.sip_port + 2
    pids = (await (await asyncio.create_subprocess_exec(
        "pgrep", "-f", f"sip-worker --host 127.0.0.1 --port {victim} ", stdout=asyncio.subprocess.PIPE)).communicate())[0]  # fmt: skip
    assert pids.split(), "worker process not found"
    for pid in pids.split():
        os.kill(int(pid), signal.SIGKILL)
    scenario = render("uac_short.xml", tmp_path / "short.xml", PT=0, CODEC="PCMU")
    result = await run_sipp(scenario, f"127.0.0.1:{stack.sip_port}", calls=8, concurrency=2, rate=4,
                            workdir=tmp_path, media_port=free_media_port(), timeout_s=60)  # fmt: skip
    # The first call may be the one that finds the dead worker; none after it fails.
    assert result.failed <= 1 and result.successful >= 7, result.stderr


async def test_worker_registers_to_a_trunk_with_digest_auth(tmp_path: Path) -> None:
    """A SIPp registrar challenges; the worker answers the challenge and is registered (200)."""
    registrar_port = free_sip_port(1)
    scenario = render("uas_registrar.xml", tmp_path / "registrar.xml", USER="bot", PASSWORD="s3cret")
    sipp = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(registrar_port), "-m", "1", "-nostdin",
        "-timeout", "30s", "-timeout_error", "-trace_msg", "-message_file", str(tmp_path / "msgs.log"),
        cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    worker_port = free_sip_port(1)
    env = {**os.environ, "VOICEBOT_TRUNK_REGISTRAR": f"sip:127.0.0.1:{registrar_port}", "VOICEBOT_TRUNK_USER": "bot",
           "VOICEBOT_TRUNK_PASSWORD": "s3cret", "REDIS_URL": "redis://127.0.0.1:1/0"}  # fmt: skip
    worker = await asyncio.create_subprocess_exec(
        VOICEBOT, "sip-worker", "--port", str(worker_port), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert await asyncio.wait_for(sipp.wait(), 40) == 0  # the scenario ends on its 200, not its 403
        messages = (tmp_path / "msgs.log").read_text()
        assert "Authorization: Digest" in messages and 'username="bot"' in messages
        assert "SIP/2.0 200 OK" in messages and "403 Forbidden" not in messages
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(worker.communicate(), 60)  # (a loaded CI machine took over 20 s once)
    assert b"trunk registration: 200" in err


async def test_unreachable_engine_refuses_the_call_with_503(tmp_path: Path) -> None:
    """No engine: the worker answers 503 (Kamailio would try another worker) and keeps running."""
    async with lone_worker(f"ws://127.0.0.1:{free_sip_port(1)}/v1/realtime") as port:
        scenario = render("uac_refused.xml", tmp_path / "refused.xml", CODE=503)
        result = await call_once(scenario, port, tmp_path, calls=2)
        assert result.returncode == 0 and result.successful == 2, result.stderr


async def test_alaw_caller_is_answered(stack: Stack, tmp_path: Path) -> None:
    scenario = render("uac_short.xml", tmp_path / "alaw.xml", PT=8, CODEC="PCMA")
    result = await run_sipp(scenario, f"127.0.0.1:{stack.sip_port}", calls=2, concurrency=2, rate=2,
                            workdir=tmp_path, media_port=free_media_port(), timeout_s=30)  # fmt: skip
    assert (result.successful, result.failed) == (2, 0), result.stderr


async def test_cancel_while_ringing_gets_487(tmp_path: Path) -> None:
    """An engine that accepts TCP but never answers keeps the call ringing; the caller CANCELs."""
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    engine_port = silent.sockets[0].getsockname()[1]
    try:
        async with lone_worker(f"ws://127.0.0.1:{engine_port}/v1/realtime") as port:
            result = await call_once(render("uac_cancel.xml", tmp_path / "cancel.xml"), port, tmp_path)
            assert result.returncode == 0 and result.successful == 1, result.stderr
    finally:
        silent.close()


async def test_global_call_limit_refuses_the_call_over_it(stack: Stack, tmp_path: Path) -> None:
    engine = f"ws://127.0.0.1:{stack.engine_port}/v1/realtime"
    redis_url = stack.redis_url.rsplit("/", 1)[0] + "/3"  # a database of its own: no other calls count
    async with lone_worker(engine, redis_url, VOICEBOT_MAX_CONCURRENT_CALLS="1") as port:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        silence = speech_file("Hello.", tmp_path / "hello.ul")
        prefix = call_ids()
        first = asyncio.create_task(call_once(render("uac_listen.xml", tmp_path / "a" / "listen.xml", WAV=silence,
                                                     HOLD_MS=5000), port, tmp_path / "a", call_id_prefix=prefix))  # fmt: skip
        await call_of(redis_url, prefix, until="active")  # the first call is up
        refused = await call_once(
            render("uac_refused.xml", tmp_path / "b" / "refused.xml", CODE=503), port, tmp_path / "b"
        )
        assert refused.successful == 1, refused.stderr
        assert (await first).successful == 1
        redis = Redis.from_url(redis_url)
        try:
            assert await redis.scard("calls:live") == 0  # the first call released its slot
        finally:
            await redis.aclose()


async def test_calls_of_a_killed_worker_are_ended_with_a_reason(stack: Stack, tmp_path: Path) -> None:
    silence = speech_file("Hello.", tmp_path / "hello.ul")
    prefix = call_ids()
    call = asyncio.create_task(call_once(render("uac_listen.xml", tmp_path / "listen.xml", WAV=silence,
                                                HOLD_MS=6000), stack.sip_port, tmp_path, call_id_prefix=prefix))  # fmt: skip
    redis = Redis.from_url(stack.redis_url)
    store = CallStore(redis)
    try:
        record, _ = await call_of(stack, prefix, until="active")
        call_id = record["call_id"]
        port = stack.sip_port + int(record["worker"].removeprefix("w"))  # this stack's worker, no other
        victim = await asyncio.create_subprocess_exec(
            "pkill", "-KILL", "-f", f"sip-worker --host 127.0.0.1 --port {port} "
        )
        await victim.wait()
        for _ in range(100):
            record = await store.record(call_id)
            if record["state"] == "ended":
                break
            await asyncio.sleep(0.2)
        assert record["outcome"] == "worker_died", record
        assert not await store.is_live(call_id)
    finally:
        await redis.aclose()
        await asyncio.gather(call, return_exceptions=True)  # SIPp's BYE finds no dialog: that call fails


async def test_silent_caller_is_reprompted_then_hung_up_on(stack: Stack, tmp_path: Path) -> None:
    engine = f"ws://127.0.0.1:{stack.engine_port}/v1/realtime"
    redis_url = stack.redis_url.rsplit("/", 1)[0] + "/4"
    async with lone_worker(engine, redis_url, VOICEBOT_IDLE_TIMEOUT_MS="2000", VOICEBOT_IDLE_MAX_REPROMPTS="2") as port:
        wav = silence_file(tmp_path / "silence.ul")
        scenario = render("uac_silent.xml", tmp_path / "silent.xml", WAV=wav, WAIT_MS=40000)
        result = await call_once(scenario, port, tmp_path)
        assert result.successful == 1, result.stderr  # the bot sent the BYE
    record, lines = await call_of(redis_url, result.call_id_prefix)
    assert record["outcome"] == "idle_hangup"
    bot = [line["text"] for line in lines if line["role"] == "bot"]
    assert bot.count("Are you still there?") == 2 and "Goodbye" in bot[-1], bot


async def test_a_caller_whose_rtp_stops_gets_a_bye_after_the_media_timeout(stack: Stack, tmp_path: Path) -> None:
    engine = f"ws://127.0.0.1:{stack.engine_port}/v1/realtime"
    redis_url = stack.redis_url.rsplit("/", 1)[0] + "/5"
    async with lone_worker(engine, redis_url, VOICEBOT_MEDIA_TIMEOUT_S="3", VOICEBOT_IDLE_TIMEOUT_MS="0") as port:
        scenario = render("uac_media_stops.xml", tmp_path / "stops.xml", WAV=silence_file(tmp_path / "silence.ul"),
                          RTP_MS=4000, WAIT_MS=15000)  # fmt: skip
        result = await call_once(scenario, port, tmp_path)
        assert result.successful == 1, result.stderr  # the bot sent the BYE
    record, _ = await call_of(redis_url, result.call_id_prefix)
    assert record["outcome"] == "media_timeout"
    assert 6.0 <= float(record["duration_s"]) < 15.0, record  # RTP for 4 s, then 3 s without


async def test_an_answer_never_acked_is_ended_after_the_ack_timeout(stack: Stack, tmp_path: Path) -> None:
    """No ACK for the 200 (a scanner, a spoofed source): the call ends on the bot's side after
    ack_timeout_s (its engine session, its record: no_ack), not after pjsip's 32 s of retransmissions."""
    engine = f"ws://127.0.0.1:{stack.engine_port}/v1/realtime"
    redis_url = stack.redis_url.rsplit("/", 1)[0] + "/5"
    async with lone_worker(engine, redis_url, VOICEBOT_ACK_TIMEOUT_S="3") as port:
        scenario = render("uac_no_ack.xml", tmp_path / "no_ack.xml", WAIT_MS=7000)
        result = await call_once(scenario, port, tmp_path)
        assert result.successful == 1, result.stderr
        record, _ = await call_of(redis_url, result.call_id_prefix)  # (ended while the caller still waits)
    assert record["outcome"] == "no_ack"
    assert float(record["duration_s"]) < 6.0, record


async def test_session_timers_asked_for_by_the_caller_are_honoured(stack: Stack, tmp_path: Path) -> None:
    """RFC 4028: a caller offering Session-Expires 90 s with itself as refresher gets it in the answer
    (with Require: timer), and its refresh (UPDATE) is answered with the timer again."""
    engine = f"ws://127.0.0.1:{stack.engine_port}/v1/realtime"
    redis_url = stack.redis_url.rsplit("/", 1)[0] + "/5"
    async with lone_worker(engine, redis_url) as port:
        scenario = render("uac_session_timer.xml", tmp_path / "timer.xml", WAV=silence_file(tmp_path / "s.ul"))
        result = await call_once(scenario, port, tmp_path)
    assert result.successful == 1, result.stderr


async def test_slow_and_failing_business_systems_during_a_call(
    stack: Stack, crm_server: tuple[str, dict[str, Any]], redis_url: str
) -> None:
    """A worker whose CRM (over HTTP) is slow, then down: the caller hears a filler, then the answer;
    then an apology for the failing lookup; and the call goes on to answer the next question."""
    url, behaviour = crm_server
    behaviour["delay_s"] = 1.6  # slower than the filler threshold, faster than the tool timeout
    behaviour["fail_ops"] = {"customer_by_phone"}
    engine = f"ws://127.0.0.1:{stack.engine_port}/v1/realtime"
    async with lone_worker(engine, redis_url, VOICEBOT_CRM_URL=url, VOICEBOT_CRM_SECRET=CRM_SECRET) as port:
        code, out = await softphone(f"sip:bot@127.0.0.1:{port}", "Where is my order 4 5 7 2 1, please?",
                                    "My ZIP code is 9 4 1 0 7.", "What are your opening hours, please?", caller="+15550100")  # fmt: skip
    assert code == 0, out
    _, lines = await call_of(redis_url, call_id_of(out))
    bot = [line["text"] for line in lines if line["role"] == "bot"]
    filler = bot.index("One moment, please.")
    assert "shipped" in bot[filler + 1], bot  # the slow answer came after the filler
    assert any("couldn't reach that system" in b for b in bot), bot  # the CRM failure, said kindly
    assert "opening hours" in bot[-1].lower(), bot  # ...and the call went on
