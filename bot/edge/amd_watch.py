"""Answering-machine detection on an outbound call, between the callee's audio and the call session:
the detector (bot/turn_policies/amd.py) hears the callee's first seconds; the bot says nothing until
it has decided. A person: the bot speaks (it answers their "Hello?"). A machine: the bot waits for the
beep (or the greeting's end), then leaves the message and hangs up — or hangs up at once.
The decision, its time and whether a beep was heard go into the call record.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from bot.edge.buffers import CallerFrame
from bot.edge.call_log import CallLog, Decision
from bot.turn_policies.amd import AnsweringMachineDetector, Verdict


class AmdAction(enum.Enum):
    SPEAK = "speak"  # a person (or no one said anything): the conversation starts
    LEAVE_MESSAGE = "leave_message"
    HANG_UP = "hang_up"


class AmdWatch:
    def __init__(self, log: CallLog, on_machine: str = "message") -> None:
        self.log = log
        self.on_machine = on_machine  # "message" | "hang_up"
        self.detector = AnsweringMachineDetector()
        self.done = False

    def frames(self, frames: Iterable[CallerFrame]) -> AmdAction | None:
        """The callee's frames as they come; an action once, when it is due."""
        if self.done:
            return None
        for f in frames:
            action = self._frame(f.line)
            if action is not None:
                self.done = True
                return action
        return None

    def _frame(self, pcm: bytes) -> AmdAction | None:
        d = self.detector
        if d.verdict is None:
            verdict = d.frame(pcm)
            if verdict is None:
                return None
            self.log.note(amd=verdict.value, amd_ms=d.decided_ms or 0)
            self.log.decided(Decision.AMD, f"answering-machine detection: {verdict.value} after {d.decided_ms} ms",
                             verdict=verdict.value, decided_ms=d.decided_ms or 0)  # fmt: skip
            if verdict is not Verdict.MACHINE:
                return AmdAction.SPEAK
            return AmdAction.HANG_UP if self.on_machine == "hang_up" else None
        if d.message_due(pcm):
            self.log.note(beep=int(d.beeped), message_at_ms=d.at_ms)
            return AmdAction.LEAVE_MESSAGE
        return None
