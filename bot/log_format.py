"""How every process logs: text for a person at a terminal, or one JSON object per line
(`VOICEBOT_LOG_FORMAT=json`) with the call it belongs to, so a call can be followed across the
worker, the engine and the supervisor by its id.

The call id rides in a context variable: a call session sets it in its own task, and every task it
starts (asyncio copies the context) logs under it. The turn id (the conversation item of the
caller's turn being answered, the same id on the edge and in our engine) is a cell in another one,
shared by those tasks, moved on at each committed turn. Secrets are masked first (bot/redact.py).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from contextvars import ContextVar
from dataclasses import dataclass

from bot.redact import RedactingFilter

CALL_ID: ContextVar[str | None] = ContextVar("call_id", default=None)
CALL_ID_HEADER = "X-Voicebot-Call-Id"  # the edge tells our engine which call a session serves


@dataclass
class TurnCell:
    turn_id: str | None = None  # the caller's current turn (its conversation item id)


TURN: ContextVar[TurnCell | None] = ContextVar("turn", default=None)


def begin_turns() -> TurnCell:
    """A call's (or an engine session's) turn cell, for this task and those it starts."""
    cell = TurnCell()
    TURN.set(cell)
    return cell


TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class CallIdFilter(logging.Filter):
    """Puts the call id of the task that logs on the record (formatters may run later, elsewhere)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "call_id", None):
            record.call_id = CALL_ID.get()
        if not getattr(record, "turn_id", None):
            cell = TURN.get()
            record.turn_id = cell.turn_id if cell is not None else None
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process  # which voicebot process: engine, sip-worker, run...

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "process": self.process,
            "pid": record.process,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        call_id = getattr(record, "call_id", None)
        if call_id:
            entry["call_id"] = call_id
        if turn_id := getattr(record, "turn_id", None):
            entry["turn_id"] = turn_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, fmt: str, process: str) -> None:
    """The root logger's one handler (stderr), masked, in `fmt` ("text" or "json")."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.addFilter(CallIdFilter())
    handler.setFormatter(JsonFormatter(process) if fmt == "json" else logging.Formatter(TEXT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
