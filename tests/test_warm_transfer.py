"""Warm transfer over real SIP: a softphone caller asks for a person; the bot holds them, dials an
agent (`voicebot answer`, a pjsua2 phone that takes the call), tells the agent who is calling, joins
the two and leaves; or, when no agent answers, comes back to the caller and offers a callback."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from tests.stack import call_of, free_sip_port, report_of, running_stack, softphone

VOICEBOT = str(Path(sys.executable).with_name("voicebot"))


async def agent_phone(port: int, *say: str, wait_s: float = 120.0) -> asyncio.subprocess.Process:
    """`voicebot answer` on `port`, listening once this returns."""
    args = [VOICEBOT, "--log-level", "WARNING", "answer", "--port", str(port), "--wait-s", str(wait_s),
            "--max-turn-s", "30"]  # fmt: skip
    for text in say:
        args += ["--say", text]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    async with asyncio.timeout(60):
        while not (await proc.stdout.readline()).startswith(b"listening:"):
            pass
    return proc


async def report_from(proc: asyncio.subprocess.Process) -> tuple[dict[str, Any], str]:
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    text = out.decode(errors="replace") + "\n[stderr]\n" + err.decode(errors="replace")[-3000:]
    return report_of(text), text


async def test_the_agent_hears_who_is_calling_then_caller_and_agent_talk_and_the_bot_is_gone(tmp_path: Path) -> None:
    agent_port = free_sip_port(1)
    async with running_stack(tmp_path, workers=1, VOICEBOT_TRANSFER_MODE="warm",
                             VOICEBOT_TRANSFER_URI=f"sip:agent@127.0.0.1:{agent_port}") as stack:  # fmt: skip
        agent = await agent_phone(agent_port, "Hi, this is Dana at the help desk. How can I help you?",
                                  "Okay, I'm sorry about that, let me check the line for you. Goodbye.")  # fmt: skip
        code, out = await softphone(stack.uri, "Hi, um, can I talk to a real person, please?",
                                    "Hi Dana, yes, my internet has been down since this morning.",
                                    caller="+15550142", end_silence_s=2.5, max_turn_s=45)  # fmt: skip
        heard_by_agent, agent_out = await report_from(agent)
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
