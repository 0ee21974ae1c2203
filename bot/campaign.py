"""Outbound campaigns: a list of contacts called through the dial queue (bot/dialer.py) with a cap on
calls at once, a pace (calls started per second), retries of busy and unanswered contacts after a
delay, allowed local hours, and a do-not-call list.

State is in Redis (`campaign:<name>:<row>`: pending → queued → done, attempts, the current dial id,
the outcome), so a runner killed mid-way and started again goes on where it was and calls no one
twice: a contact's dial id is written before its call is asked for, and asking again with the same
id queues nothing twice (bot/dialer.py's script).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.dialer import new_id, request_call, status
from bot.state import text_dict

RETRIED = {"busy", "no_answer"}
TICK_S = 0.25


@dataclass(frozen=True)
class Contact:
    row: int
    number: str
    variables: dict[str, str] = field(default_factory=dict)
    tz: str | None = None  # IANA zone of the contact, for the allowed hours


def contacts_from_csv(text: str) -> list[Contact]:
    """A header row with `number` (a SIP URI or a number for the URI template), optionally `tz`;
    every other column is a variable for the instructions."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or "number" not in reader.fieldnames:
        raise ValueError("the contact list needs a header row with a 'number' column")
    out = []
    for i, row in enumerate(reader, start=1):
        number = (row.get("number") or "").strip()
        if not number:
            continue
        extra = {k: (v or "").strip() for k, v in row.items() if k not in ("number", "tz") and k}
        out.append(Contact(i, number, extra, (row.get("tz") or "").strip() or None))
    return out


@dataclass(frozen=True)
class Window:
    """Allowed local hours, e.g. 09:00-20:00 (in the contact's zone, else the runner's)."""

    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, spec: str) -> Window:
        first, _, last = spec.partition("-")
        return cls(dt.time.fromisoformat(first.strip()), dt.time.fromisoformat(last.strip()))

    def allows(self, now: float, tz: str | None) -> bool:
        local = dt.datetime.fromtimestamp(now, ZoneInfo(tz) if tz else None).time()
        return self.start <= local < self.end


@dataclass(frozen=True)
class Plan:
    name: str
    concurrency: int = 4
    pace_per_s: float = 2.0
    retries: int = 1  # more attempts for a busy or unanswered contact
    retry_delay_s: float = 60.0
    window: Window | None = None
    uri_template: str = "{number}"  # e.g. sip:{number}@trunk.example.com
    instructions: str | None = None
    do_not_call: frozenset[str] = frozenset()


@dataclass
class Progress:
    total: int
    done: int = 0
    in_flight: int = 0
    dialed: int = 0  # calls asked for, retries included
    outcomes: Counter[str] = field(default_factory=Counter)

    def line(self, name: str) -> str:
        tally = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())) or "none yet"
        return (
            f"campaign {name}: {self.done}/{self.total} done, {self.in_flight} in flight, {self.dialed} dialed; {tally}"
        )


class Campaign:
    def __init__(self, redis: Redis, plan: Plan, contacts: Iterable[Contact],
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.redis = redis
        self.plan = plan
        self.contacts = {c.row: c for c in contacts}
        self.clock = clock
        self._next_start = 0.0

    def _key(self, row: int) -> str:
        return f"campaign:{self.plan.name}:{row}"

    async def run(self, report: Callable[[Progress], None], report_every_s: float = 1.0) -> Progress:
        """Until every contact is done (called to an end, given up on, or on the do-not-call list)."""
        for row in self.contacts:  # a resumed campaign keeps what it had
            await self.redis.hsetnx(self._key(row), "state", "pending")
        last_report = 0.0
        while True:
            progress = await self._step()
            if self.clock() - last_report >= report_every_s or progress.done == progress.total:
                report(progress)
                last_report = self.clock()
            if progress.done == progress.total:
                return progress
            await asyncio.sleep(TICK_S)

    async def _step(self) -> Progress:
        states = {row: text_dict(await self.redis.hgetall(self._key(row))) for row in self.contacts}
        progress = Progress(len(self.contacts))
        now = self.clock()
        for row, state in states.items():
            if state.get("state") == "queued":
                state = states[row] = await self._follow(row, state, now)
        ready = []
        for row, state in states.items():
            kind = state.get("state")
            progress.dialed += int(state.get("attempts", 0))
            if kind == "done":
                progress.done += 1
                progress.outcomes[state.get("outcome", "?")] += 1
            elif kind == "queued":
                progress.in_flight += 1
            elif float(state.get("next_at", 0)) <= now:
                ready.append(row)
        for row in [r for r in ready if self.contacts[r].number in self.plan.do_not_call]:
            await self.redis.hset(self._key(row), mapping={"state": "done", "outcome": "do_not_call"})
            ready.remove(row)
        for row in ready:
            contact = self.contacts[row]
            if self.plan.window and not self.plan.window.allows(now, contact.tz):
                continue
            if progress.in_flight >= self.plan.concurrency or now < self._next_start:
                break
            await self._dial(contact, int(states[row].get("attempts", 0)))
            progress.in_flight += 1
            progress.dialed += 1
            self._next_start = max(now, self._next_start) + 1 / self.plan.pace_per_s
        return progress

    async def _dial(self, contact: Contact, attempts: int) -> None:
        dial_id = new_id()
        await self.redis.hset(self._key(contact.row), mapping={"state": "queued", "dial_id": dial_id,
                                                                "attempts": attempts + 1})  # fmt: skip
        uri = self.plan.uri_template.format(number=contact.number)
        await request_call(self.redis, uri, self.plan.instructions, contact.variables, dial_id=dial_id)

    async def _follow(self, row: int, state: dict[str, str], now: float) -> dict[str, str]:
        """A contact whose call was asked for: still going, or what came of it."""
        dial = await status(self.redis, state["dial_id"])
        if not dial:  # (killed between writing the id and asking: ask now, under the same id)
            contact = self.contacts[row]
            uri = self.plan.uri_template.format(number=contact.number)
            await request_call(self.redis, uri, self.plan.instructions, contact.variables, dial_id=state["dial_id"])
            return state
        if dial.get("state") != "ended":
            return state
        outcome = dial.get("outcome", "failed")
        answered = "answered" in dial
        update: dict[str, str]
        if not answered and outcome in RETRIED and int(state.get("attempts", 1)) <= self.plan.retries:
            update = {"state": "pending", "next_at": str(now + self.plan.retry_delay_s), "last_outcome": outcome}
        else:
            update = {"state": "done", "outcome": "answered" if answered else outcome, "call_outcome": outcome}
        fields: dict[Any, Any] = dict(update)  # (redis-py's mapping type is invariant)
        await self.redis.hset(self._key(row), mapping=fields)
        return {**state, **update}
