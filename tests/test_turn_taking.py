"""Turn-taking over real SIP (softphone → Kamailio → worker → engine): what must not interrupt the bot.

The softphone's line can send the bot's own voice back (−12 dB, 60 ms late, under −50 dBFS noise), as
a 2-wire hybrid or a speakerphone does, and can speak over the bot. The call record in Redis says
what the edge decided: typed decisions (paused, resumed, interrupted; bot/edge/call_log.py).
"""

from __future__ import annotations

from pathlib import Path

from tests.sipp import capture, free_media_port, render, run_sipp, speech_file
from tests.stack import Stack, call_id_of, call_of, decisions, lone_worker, report_of, softphone


async def test_the_bots_echo_and_line_noise_never_interrupt_it(stack: Stack) -> None:
    code, out = await softphone(stack.uri, "What are your opening hours on Saturday?", "Where is my order?", echo=True)
    assert code == 0, out
    _, lines = await call_of(stack, call_id_of(out))
    assert not [line for line in lines if line.get("event") in ("paused", "interrupted")], lines
    said = [line["text"].lower() for line in lines if line["role"] == "caller"]
    assert len(said) == 2 and "opening hours" in said[0] and "order" in said[1], said  # only the caller's words
    bot = report_of(out)["bot"]
    assert isinstance(bot, list) and "weekends" in bot[0].lower() and "order" in bot[1].lower(), bot


async def test_uh_huh_over_the_greeting_does_not_interrupt_it(stack: Stack) -> None:
    code, out = await softphone(stack.uri, "@1000:Uh huh.", "What are your opening hours on Saturday?")
    assert code == 0, out
    _, lines = await call_of(stack, call_id_of(out))
    assert not decisions(lines, "interrupted"), lines  # never interrupted...
    assert decisions(lines, "resumed"), lines  # ...it held, then went on
    greeting = str(report_of(out)["greeting"]).lower()
    assert "today" in greeting, greeting  # the greeting was heard to its last word
    caller = [line["text"].lower() for line in lines if line["role"] == "caller"]
    assert "opening hours" in caller[-1], caller  # and the real question was answered as usual
    bot = report_of(out)["bot"]
    assert isinstance(bot, list) and "weekends" in bot[0].lower(), bot


async def test_a_cough_over_a_reply_does_not_interrupt_it(stack: Stack) -> None:
    code, out = await softphone(stack.uri, "What are your opening hours on Saturday?", "@1500:*cough*")
    assert code == 0, out
    _, lines = await call_of(stack, call_id_of(out))
    assert not decisions(lines, "interrupted"), lines
    bot = report_of(out)["bot"]
    assert isinstance(bot, list) and "public holidays" in bot[0].lower(), bot  # the reply played to its end


async def test_the_bot_presses_keys_on_request(stack: Stack) -> None:
    """The bot sends DTMF (RFC 4733) when a flow asks for it, after saying so."""
    code, out = await softphone(stack.uri, "Please press 4 2 on the keypad.")
    assert code == 0, out
    assert report_of(out)["keys_heard"] == "42", out
    _, lines = await call_of(stack, call_id_of(out))
    assert decisions(lines, "keys_sent") == [{"digits": "42"}], lines


async def test_barge_in_driven_by_the_engines_speech_events(stack: Stack, tmp_path: Path) -> None:
    """Without the edge's own detector (VOICEBOT_LOCAL_VAD=false) the engine's speech_started holds
    the bot and the same policy decides: a question over the greeting stops it and gets answered."""
    engine = f"ws://127.0.0.1:{stack.engine_port}/v1/realtime"
    redis_url = stack.redis_url.rsplit("/", 1)[0] + "/5"
    wav = speech_file("What are your opening hours on Saturday?", tmp_path / "ask.ul")
    scenario = render("uac_audio.xml", tmp_path / "uac.xml", WAV=wav, GREETING_MS=1000, LISTEN_MS=8000)
    async with lone_worker(engine, redis_url, VOICEBOT_LOCAL_VAD="false") as port:
        media_port = free_media_port()
        async with capture(tmp_path / "rtp.pcap", f"udp and port {media_port}") as cap:
            result = await run_sipp(scenario, f"127.0.0.1:{port}", calls=1, concurrency=1, rate=1,
                                    workdir=tmp_path, media_port=media_port, timeout_s=60)  # fmt: skip
    assert result.successful == 1, result.stderr
    caller, bot = cap.call_flows(media_port)
    assert caller is not None
    onset, caller_end = caller.speech_times[0], caller.speech_times[-1]
    assert not [t for t in bot.speech_times if onset + 0.6 < t < caller_end]  # the engine's VAD is a bit later
    assert any(t > caller_end for t in bot.speech_times)  # ...and it answered
    _, lines = await call_of(redis_url, result.call_id_prefix)
    assert decisions(lines, "interrupted"), lines
