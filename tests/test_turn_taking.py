"""Turn-taking over real SIP (softphone → Kamailio → worker → engine): what must not interrupt the bot.

The softphone's line can send the bot's own voice back (−12 dB, 60 ms late, under −50 dBFS noise), as
a 2-wire hybrid or a speakerphone does, and can speak over the bot. The call record in Redis says
what the edge decided ("barge-in pause", "barge-in resumed", "barge-in after N ms" = interrupted).
"""

from __future__ import annotations

import json

from tests.stack import Stack, softphone
from tests.test_call_path import last_call


def figures(out: str) -> dict[str, object]:
    """The JSON line `voicebot call` prints last."""
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def system_lines(lines: list[dict[str, str]]) -> list[str]:
    return [line["text"] for line in lines if line["role"] == "system"]


async def test_the_bots_echo_and_line_noise_never_interrupt_it(stack: Stack) -> None:
    code, out = await softphone(stack.uri, "What are your opening hours on Saturday?", "Where is my order?", echo=True)
    assert code == 0, out
    _, lines = await last_call(stack)
    assert not [t for t in system_lines(lines) if t.startswith("barge-in")], lines
    said = [line["text"].lower() for line in lines if line["role"] == "caller"]
    assert len(said) == 2 and "opening hours" in said[0] and "order" in said[1], said  # only the caller's words
    bot = figures(out)["bot"]
    assert isinstance(bot, list) and "weekends" in bot[0].lower() and "order" in bot[1].lower(), bot


async def test_uh_huh_over_the_greeting_does_not_interrupt_it(stack: Stack) -> None:
    code, out = await softphone(stack.uri, "@1000:Uh huh.", "What are your opening hours on Saturday?")
    assert code == 0, out
    _, lines = await last_call(stack)
    notes = system_lines(lines)
    assert not [t for t in notes if t.startswith("barge-in after")], lines  # never interrupted...
    assert any(t.startswith("barge-in resumed") for t in notes), lines  # ...it held, then went on
    greeting = str(figures(out)["greeting"]).lower()
    assert "today" in greeting, greeting  # the greeting was heard to its last word
    caller = [line["text"].lower() for line in lines if line["role"] == "caller"]
    assert "opening hours" in caller[-1], caller  # and the real question was answered as usual
    bot = figures(out)["bot"]
    assert isinstance(bot, list) and "weekends" in bot[0].lower(), bot


async def test_a_cough_over_a_reply_does_not_interrupt_it(stack: Stack) -> None:
    code, out = await softphone(stack.uri, "What are your opening hours on Saturday?", "@1500:*cough*")
    assert code == 0, out
    _, lines = await last_call(stack)
    assert not [t for t in system_lines(lines) if t.startswith("barge-in after")], lines
    bot = figures(out)["bot"]
    assert isinstance(bot, list) and "public holidays" in bot[0].lower(), bot  # the reply played to its end


async def test_the_bot_presses_keys_on_request(stack: Stack) -> None:
    """The bot sends DTMF (RFC 4733) when a flow asks for it, after saying so."""
    code, out = await softphone(stack.uri, "Please press 4 2 on the keypad.")
    assert code == 0, out
    assert figures(out)["keys_heard"] == "42", out
    _, lines = await last_call(stack)
    assert "sent keys 42" in system_lines(lines), lines
