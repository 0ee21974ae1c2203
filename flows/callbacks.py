"""The `schedule_callback` tool: a caller asks to be called back, now-ish or at a time they name
("tomorrow at ten", "Friday afternoon at 3"); the callback is booked (bot/callbacks.py) and placed
by the workers when it is due, with what the caller wanted on this call."""

from __future__ import annotations

import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot import callbacks
from bot.redact import redact
from bot.state import CallStore
from flows.call_state import FlowState, caller_phone
from flows.registry import CallContext, FlowError, ToolRegistry, ToolResult

DEFAULT_HOUR = "10:00"  # a day named without a time
_URI = re.compile(r"<?(sips?:[^>;\s]+)")


class CallbackBook:
    def __init__(self, redis: Redis, state: FlowState, zone: str = "UTC", soon_s: float = 900.0) -> None:
        """`zone`: the business's time zone (what "tomorrow at 10" means); `soon_s`: how soon "as soon
        as you can" is."""
        self._redis = redis
        self._state = state
        self.zone = ZoneInfo(zone)
        self.soon_s = soon_s

    def due(self, date: str, at: str, now: float | None = None) -> float:
        """Epoch seconds of `date` (ISO) at `at` (HH:MM) in the business's zone; neither: soon. A time
        alone is today's, or tomorrow's once past; a date in the past is refused."""
        now = time.time() if now is None else now
        if not date and not at:
            return now + self.soon_s
        today = dt.datetime.fromtimestamp(now, self.zone)
        try:
            day = dt.date.fromisoformat(date) if date else today.date()
            hour = dt.time.fromisoformat(at or DEFAULT_HOUR)
        except ValueError as exc:
            raise FlowError(f"not a date and time: {date!r} {at!r}") from exc
        when = dt.datetime.combine(day, hour, self.zone)
        if not date and when.timestamp() <= now:
            when += dt.timedelta(days=1)
        if when.timestamp() <= now:
            raise FlowError("that time has passed")
        return when.timestamp()

    async def book(self, context: CallContext, due: float, reason: str) -> str:
        """The callback, with what the caller said so far on this call (their last three lines, masked)."""
        lines = await CallStore(self._redis).transcript_of(context.call_id)
        said = " / ".join([line.get("text", "") for line in lines if line.get("role") == "caller"][-3:])[-300:]
        number = caller_phone(context) or (m.group(1) if (m := _URI.search(context.caller)) else "")
        if not number:
            raise FlowError("no number to call back")
        customer = await self._state.verified_customer(context.call_id) or ""
        said = redact(said).replace("{", "(").replace("}", ")")
        return await callbacks.book(
            self._redis, callbacks.Callback(number, due, context.call_id, reason, said, customer)
        )

    def spoken_time(self, due: float, now: float | None = None) -> str:
        now = time.time() if now is None else now
        when = dt.datetime.fromtimestamp(due, self.zone)
        today = dt.datetime.fromtimestamp(now, self.zone).date()
        clock = when.strftime("%I:%M %p").lstrip("0").replace(":00 ", " ")
        if due - now <= self.soon_s + 60:
            return "shortly"
        day = "today" if when.date() == today else "tomorrow" if when.date() == today + dt.timedelta(days=1) else (
            when.strftime("%A, %B ") + str(when.day))  # fmt: skip
        return f"{day} at {clock}"


def register(registry: ToolRegistry, book: CallbackBook) -> None:
    @registry.tool(
        "Book a callback (we call the caller back as soon as someone is free, or at the day and time they "
        "ask for).",
        examples=("call me back", "can someone ring me back tomorrow at 10", "yes please call me back",
                  "have an agent call me later", "call me back this afternoon at 3"),
    )  # fmt: skip
    async def schedule_callback(context: CallContext, date: str = "", time: str = "",
                                reason: str = "") -> ToolResult:  # fmt: skip
        due = book.due(date, time)
        try:
            await book.book(context, due, reason)
        except callbacks.CallbackError as exc:
            raise FlowError(str(exc)) from exc
        return ToolResult({"message": f"Okay, we'll call you back {book.spoken_time(due)}. Thank you for calling. "
                                      "Goodbye!", "due": int(due)}, action="hangup",
                          action_args={"outcome": "callback_scheduled"})  # fmt: skip
