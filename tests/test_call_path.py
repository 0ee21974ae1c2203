"""The whole call path as `make run` starts it: softphone → Kamailio → SIP worker → engine → back.

Real parts only: Kamailio, pjsua2 on both ends, RTP with G.711, the engine's models, Redis.
"""

from __future__ import annotations

import asyncio
import os
import signal
import wave
from pathlib import Path

from redis.asyncio import Redis

from bot.state import CallStore
from tests.audio import phone_ulaw, transcribe
from tests.sipp import capture, free_media_port, render, run_sipp, speech_file, ulaw_file
from tests.stack import AGENT_URI, VOICEBOT, Stack, call_id_of, call_of, decisions, softphone


def wav_pcm(path: Path) -> bytes:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 8000
        return bytes(w.readframes(w.getnframes()))


async def test_call_through_kamailio_answers_from_facts_and_flows(stack: Stack, tmp_path: Path) -> None:
    record = tmp_path / "bot.wav"
    code, out = await softphone(stack.uri, "What are your opening hours, please?", "Where is my order 4 5 7 2 1, please?",
                                record=record)  # fmt: skip
    assert code == 0, out
    heard = transcribe(wav_pcm(record), 8000).lower()
    assert "monday" in heard and "friday" in heard, heard  # the hours, from the instructions
    assert "shipped" in heard or "ups" in heard, heard  # the order's status, from the CRM via flows/

    redis = Redis.from_url(stack.redis_url)
    store = CallStore(redis)
    try:
        call_ids = await store.recent()
        assert call_ids
        record_ = await store.record(call_ids[-1])
        assert record_["state"] == "ended" and record_["outcome"] == "caller_hung_up"
        assert record_["worker"] in ("w1", "w2", "w3", "w4") and float(record_["duration_s"]) > 1
        lines = await store.transcript_of(call_ids[-1])
        roles = [line["role"] for line in lines]
        assert roles[0] == "bot" and "caller" in roles
        assert any(line["role"] == "tool" and line["text"].startswith("get_order_status") for line in lines)
        assert any(line["role"] == "tool" and line["text"].startswith("answer_question") for line in lines)
        assert any("from our opening hours page" in line["text"].lower() for line in lines if line["role"] == "bot")
        assert not await store.is_live(call_ids[-1])
    finally:
        await redis.aclose()


async def test_goodbye_ends_the_call_from_the_bot_side(stack: Stack) -> None:
    code, out = await softphone(stack.uri, "Goodbye.")
    assert code == 0, out
    record_, _ = await call_of(stack, call_id_of(out))
    assert record_["outcome"] == "completed"


async def test_transfer_refers_the_caller_to_the_agent_with_context(stack: Stack, tmp_path: Path) -> None:
    wav = speech_file("Can I talk to a person, please?", tmp_path / "ask.ul")
    scenario = render("uac_transfer.xml", tmp_path / "transfer.xml", WAV=wav, GREETING_MS=3500, AGENT=AGENT_URI)
    result = await run_sipp(scenario, f"127.0.0.1:{stack.sip_port}", calls=1, concurrency=1, rate=1,
                            workdir=tmp_path, media_port=free_media_port(), timeout_s=60)  # fmt: skip
    assert result.returncode == 0 and result.successful == 1, result.stderr + (tmp_path / "errors.log").read_text()
    record_, lines = await call_of(stack, result.call_id_prefix)
    assert record_["outcome"] == "transferred"
    assert any(line["role"] == "tool" and line["text"].startswith("transfer_to_agent") for line in lines)


async def test_dtmf_digits_reach_the_call(stack: Stack, tmp_path: Path) -> None:
    scenario = render("uac_dtmf.xml", tmp_path / "dtmf.xml", GREETING_MS=3000)
    result = await run_sipp(scenario, f"127.0.0.1:{stack.sip_port}", calls=1, concurrency=1, rate=1,
                            workdir=tmp_path, media_port=free_media_port(), timeout_s=60)  # fmt: skip
    assert result.returncode == 0 and result.successful == 1, result.stderr
    _, lines = await call_of(stack, result.call_id_prefix)
    digits = [line["text"] for line in lines if line["role"] == "dtmf"]
    assert digits and all(d in "0123456789*#ABCD" for d in digits), lines
    entry = "".join(d for d in digits if d.isdigit())
    keyed = [line["text"] for line in lines if line["role"] == "caller" and line["text"].startswith("(keypad)")]
    assert keyed == [f"(keypad) {entry}"], lines  # one entry, taken after the pause
    assert entry.endswith("73"), lines  # the SIP INFO digits joined the RFC 4733 ones


async def test_caller_speaking_over_the_greeting_silences_the_bot(stack: Stack, tmp_path: Path) -> None:
    """Barge-in: the caller talks 1 s into the greeting; the bot's RTP goes quiet within a few hundred
    ms, the engine is told how much was heard, and the bot answers the question afterwards."""
    wav = speech_file("What are your opening hours on Saturday?", tmp_path / "ask.ul")
    scenario = render("uac_audio.xml", tmp_path / "uac.xml", WAV=wav, GREETING_MS=1000, LISTEN_MS=8000)
    media_port = free_media_port()
    async with capture(tmp_path / "rtp.pcap", "udp and not port 53") as cap:
        result = await run_sipp(scenario, f"127.0.0.1:{stack.sip_port}", calls=1, concurrency=1, rate=1,
                                workdir=tmp_path, media_port=media_port, timeout_s=60)  # fmt: skip
    assert result.returncode == 0 and result.successful == 1, result.stderr
    caller, bot = cap.call_flows(media_port)  # (this call's RTP only: other traffic on loopback is not ours)
    assert caller is not None and bot.speech_packets
    onset = caller.speech_times[0]
    caller_end = caller.speech_times[-1]
    talking_over = [t for t in bot.speech_times if onset + 0.4 < t < caller_end]
    assert not talking_over, f"bot still spoke {len(talking_over)} packets after the caller started"
    assert any(t > caller_end for t in bot.speech_times)  # ...and then answered
    _, lines = await call_of(stack, result.call_id_prefix)
    barge = decisions(lines, "interrupted")
    assert barge, lines
    # What the engine is told was heard is what the line carried: the greeting up to the caller's
    # onset, plus the moment the edge took to stop it (however late the greeting began).
    before_onset_ms = (onset - bot.speech_times[0]) * 1000
    assert before_onset_ms - 100 <= barge[0]["played_ms"] <= before_onset_ms + 600, (barge, before_onset_ms)


async def test_voicebot_calls_lists_outcomes_and_transcripts(stack: Stack) -> None:
    code, out = await softphone(stack.uri, "Goodbye.")
    assert code == 0, out
    proc = await asyncio.create_subprocess_exec(
        VOICEBOT, "calls", "-n", "3", "--transcript", env={**stack.env, "REDIS_URL": stack.redis_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out = (await asyncio.wait_for(proc.communicate(), 30))[0].decode()
    assert proc.returncode == 0
    assert "ended" in out and "bot:" in out and "caller:" in out, out


async def test_redis_outage_mid_call_loses_nothing(stack: Stack) -> None:
    """Redis frozen for 5 s while a call goes on: the call is unaffected, and afterwards its record
    and every transcript line are in Redis (the worker queued and retried its writes)."""
    pid = (await (await asyncio.create_subprocess_exec(
        "pgrep", "-f", f"redis-server 127.0.0.1:{stack.redis_url.rsplit(':', 1)[1].split('/')[0]}",
        stdout=asyncio.subprocess.PIPE)).communicate())[0].split()  # fmt: skip
    assert len(pid) == 1
    call = asyncio.create_task(
        softphone(stack.uri, "What are your opening hours, please?", "Where is my order 4 5 7 2 1, please?")
    )
    await asyncio.sleep(4.0)  # greeting done, the first question under way
    os.kill(int(pid[0]), signal.SIGSTOP)
    try:
        await asyncio.sleep(5.0)
    finally:
        os.kill(int(pid[0]), signal.SIGCONT)
    code, out = await call
    assert code == 0, out
    record_, lines = await call_of(stack, call_id_of(out))  # (once the worker's retries have written its end)
    assert record_["state"] == "ended" and record_["outcome"] == "caller_hung_up", record_
    said = [line["text"].lower() for line in lines]
    assert [line["role"] for line in lines].count("caller") == 2, lines
    assert any("opening hours" in t for t in said) and any(t.startswith("get_order_status") for t in said), lines


async def test_identified_caller_verifies_and_pays_with_confirmation(stack: Stack) -> None:
    """Caller ID finds Jane; account data waits for her ZIP code; her order's status; the payment is
    confirmed before it is made."""
    code, out = await softphone(
        stack.uri, "What is my balance?", "My ZIP code is 9 4 1 0 7.", "Where is my order 4 5 7 2 1, please?",
        "What is my balance?", "I want to pay 42 dollars and 50 cents.", "Yes, please.",
        "I want to pay 42 dollars and 50 cents.", "Yes, please.", caller="+15550100",  # the same payment again
    )  # fmt: skip
    assert code == 0, out
    record_, lines = await call_of(stack, call_id_of(out))
    tools = [line["text"].split(" ", 1)[0] for line in lines if line["role"] == "tool"]
    assert tools == ["get_balance", "verify_identity", "get_order_status", "get_balance", "pay_bill", "pay_bill"], lines
    bot = " ".join(line["text"] for line in lines if line["role"] == "bot")
    assert "verify" in bot and "$42.50" in bot and "Just to confirm" in bot, bot
    receipts = [line["text"] for line in lines if line["role"] == "bot" and "received" in line["text"]]
    assert len(receipts) == 2 and receipts[0] == receipts[1], receipts  # the same payment, not a second one
    redis = Redis.from_url(stack.redis_url)
    try:
        assert float(await redis.hget("crm:invoice:9912", "amount_due") or -1) == 0.0  # charged once
        assert await redis.xlen("crm:payments") == 1
        assert (await redis.hgetall(f"flow:{record_['call_id']}"))[b"verified"] == b"yes"
    finally:
        await redis.aclose()


async def test_verified_caller_books_then_cancels_an_appointment(stack: Stack) -> None:
    code, out = await softphone(
        stack.uri, "My ZIP code is 9 4 1 0 7.", "I need an appointment on Friday at 3 pm.", "Yes, please.",
        "Please cancel my appointment.", "Yes.", caller="+15550100",
    )  # fmt: skip
    assert code == 0, out
    _, lines = await call_of(stack, call_id_of(out))
    tools = [line["text"].split(" ", 1)[0] for line in lines if line["role"] == "tool"]
    assert tools == ["verify_identity", "book_appointment", "cancel_appointment"], lines
    bot = " ".join(line["text"] for line in lines if line["role"] == "bot")
    assert "booked for" in bot and "15:00" in bot and "cancelled" in bot, bot
    redis = Redis.from_url(stack.redis_url)
    try:
        assert not await redis.exists("crm:appointment:C1001")
    finally:
        await redis.aclose()


async def test_caller_reading_digits_with_pauses_is_not_cut_off(stack: Stack, tmp_path: Path) -> None:
    """'My order number is 4 5 7 2 1 9 8', a digit every 800 ms of silence, is one caller turn."""
    pause = b"\xff" * (8 * 800)
    audio = phone_ulaw("My order number is")
    for word in ("four", "five", "seven", "two", "one", "nine", "eight."):
        audio += pause + phone_ulaw(word)
    wav = ulaw_file(audio, tmp_path / "digits.ul")
    scenario = render("uac_audio.xml", tmp_path / "uac.xml", WAV=wav, GREETING_MS=4000, LISTEN_MS=14000)
    result = await run_sipp(scenario, f"127.0.0.1:{stack.sip_port}", calls=1, concurrency=1, rate=1,
                            workdir=tmp_path, media_port=free_media_port(), timeout_s=60)  # fmt: skip
    assert result.returncode == 0 and result.successful == 1, result.stderr
    _, lines = await call_of(stack, result.call_id_prefix)
    caller = [line["text"] for line in lines if line["role"] == "caller"]
    assert len(caller) == 1, caller
    assert len([ch for ch in caller[0] if ch.isdigit()]) >= 6, caller
