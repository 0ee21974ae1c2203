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


MAX_GREETING_MS = 30_000  # a machine's greeting longer than this gets the message anyway


class AmdWatch:
    def __init__(self, log: CallLog, on_machine: str, answered_ms: float) -> None:
        self.log = log
        self.on_machine = on_machine  # "message" | "hang_up"
        self.detector = AnsweringMachineDetector()
        self.answered_ms = answered_ms  # loop ms
        self.done = False
        self.items: list[str] = []  # the callee's turns while it listened: a machine's go, unanswered

    def frames(self, frames: Iterable[CallerFrame], now_ms: float) -> AmdAction | None:
        """The callee's frames as they come (every uplink tick); an action once, when it is due.
        By the clock too: a line that brings no frames at all is no reason to stay silent forever."""
        if self.done:
            return None
        action = None
        for f in frames:
            if (action := self._frame(f.line)) is not None:
                break
        waited = now_ms - self.answered_ms
        if action is None and self.detector.verdict is None and waited > self.detector.config.no_speech_ms + 2000:
            self.log.note(amd=Verdict.NO_SPEECH.value, amd_ms=int(waited))  # (no audio came)
            action = AmdAction.SPEAK
        elif action is None and self.detector.verdict is Verdict.MACHINE and waited > MAX_GREETING_MS:
            action = AmdAction.LEAVE_MESSAGE
        self.done = action is not None
        return action

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
