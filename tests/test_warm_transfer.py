"""Warm transfer over real SIP: a softphone caller asks for a person; the bot holds them, dials an
agent (`voicebot answer`, a pjsua2 phone that takes the call), tells the agent who is calling, joins
the two and leaves; or, when no agent answers, comes back to the caller and offers a callback."""

from __future__ import annotations

from pathlib import Path

from tests.sipp import render, sipp_callee
from tests.stack import answering_phone, call_of, free_sip_port, phone_report, report_of, running_stack, softphone


async def test_the_agent_hears_who_is_calling_then_caller_and_agent_talk_and_the_bot_is_gone(tmp_path: Path) -> None:
    agent_port = free_sip_port(1)
    async with running_stack(tmp_path, workers=1, VOICEBOT_TRANSFER_MODE="warm",
                             VOICEBOT_TRANSFER_URI=f"sip:agent@127.0.0.1:{agent_port}") as stack:  # fmt: skip
        agent = await answering_phone(agent_port, "Hi, this is Dana at the help desk. How can I help you?",
                                  "Okay, I'm sorry about that, let me check the line for you. Goodbye.")  # fmt: skip
        code, out = await softphone(stack.uri, "Hi, um, can I talk to a real person, please?",
                                    "Hi Dana, yes, my internet has been down since this morning.",
                                    caller="+15550142", end_silence_s=2.5, max_turn_s=45)  # fmt: skip
        heard_by_agent, agent_out = await phone_report(agent)
        record, lines = await call_of(stack, report_of(out)["call_id"])
    caller = report_of(out)
    assert code == 0, out
    # The agent: the summary first (who, not verified, the number), then the caller's own words.
    summary = heard_by_agent["greeting"].lower()
    assert "verified" in summary and "virtual assistant" in summary, agent_out
    assert heard_by_agent["invite_headers"].get("X-Voicebot-Call-Id") == caller["call_id"], agent_out
    assert any("internet" in said.lower() for said in heard_by_agent["bot"]), agent_out
    # The caller: after "please hold" and the music, the agent's voice.
    assert any("dana" in said.lower() or "help desk" in said.lower() for said in caller["bot"]), out
    assert record["outcome"] == "transferred" and record.get("transfer") == "warm", record
    assert record.get("agent_call_id"), record
    events = [line.get("event") for line in lines]
    assert "agent_dialed" in events and "agent_joined" in events, lines
    # The bot left the media: not a word from it once the agent was joined.
    joined_at = events.index("agent_joined")
    assert not [line for line in lines[joined_at:] if line["role"] == "bot"], lines[joined_at:]


async def test_no_agent_answering_brings_the_caller_back_and_the_callback_they_accept_is_placed(
    tmp_path: Path,
) -> None:
    """The agent's line rings out (a SIPp callee that never answers, cancelled after 4 s): the caller
    hears the offer of a callback, accepts it, and is called back at their number (through the
    outbound route), greeted as a callback."""
    agent_port, home_port = free_sip_port(1), free_sip_port(1)
    ringing = render("uas_ring.xml", tmp_path / "ring.xml", WAIT_MS=60000)
    (tmp_path / "run").mkdir()
    agent = await sipp_callee(ringing, port=agent_port, workdir=tmp_path, media_port=free_sip_port(3), timeout_s=90)
    async with running_stack(tmp_path / "run", workers=1, VOICEBOT_TRANSFER_MODE="warm",
                             VOICEBOT_TRANSFER_URI=f"sip:agent@127.0.0.1:{agent_port}",
                             VOICEBOT_AGENT_RING_TIMEOUT_S="4", VOICEBOT_CALLBACK_SOON_S="2",
                             VOICEBOT_OUTBOUND_ROUTE=f"sip:127.0.0.1:{home_port}") as stack:  # fmt: skip
        home = await answering_phone(home_port, "Oh, great, thanks for calling me back.", first="Hello?")
        code, out = await softphone(stack.uri, "I'd like to speak with someone, please.",
                                    "Yes please, call me back as soon as you can.", "Yes, that's right.",
                                    caller="+15550142", end_silence_s=2.5, max_turn_s=45)  # fmt: skip
        called_back, home_out = await phone_report(home)
        first_call = report_of(out)["call_id"]
        record, lines = await call_of(stack, first_call)
        callback_record, _ = await call_of(stack, called_back["call_id"])
    assert code == 0, out
    assert (await agent).successful == 1  # it rang, and was cancelled
    offer = report_of(out)["bot"][0].lower()
    assert "call you back" in offer, out
    assert record["outcome"] == "callback_scheduled", record
    assert "agent_unavailable" in [line.get("event") for line in lines], lines
    assert any(line["role"] == "tool" and line["text"].startswith("schedule_callback") for line in lines), lines
    # The callback: to the caller's number, greeted as a callback, a conversation after it.
    assert called_back["connected"] and "calling you back" in called_back["greeting"].lower(), home_out
    assert callback_record["direction"] == "outbound" and "+15550142" in callback_record["callee"], callback_record
    assert callback_record.get("dial_id", "").startswith("callback-"), callback_record
