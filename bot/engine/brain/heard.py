"""What the caller has heard so far, read from the conversation's history: whether the call's
greeting reached them, and the bot's last line (for "say that again")."""

from __future__ import annotations

import re

from bot.engine.brain.base import DialogRequest


def greeted(request: DialogRequest, line: str) -> bool:
    """Whether the caller has heard the greeting `line`, or anything else from the bot: a reply cut
    while it was still the start of the greeting (a callee's "Hello?" arriving as the greeting
    begins cuts it to "Hello,", or to nothing) leaves the greeting unsaid."""
    whole = _words(line)
    for turn in request.history:
        heard = _words(turn.text) if turn.role == "assistant" else []
        if heard and not (len(heard) < len(whole) and whole[: len(heard)] == heard):
            return True
    return False


def last_said(request: DialogRequest) -> str | None:
    """The bot's last words before the caller's turn."""
    for turn in reversed(request.history[:-1]):
        if turn.role == "assistant" and turn.text:
            return turn.text
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())
