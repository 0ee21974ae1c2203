"""Idle caller: reprompt after a silence, hang up politely after a number of reprompts.

The clock starts when the bot has finished speaking and nobody speaks; any caller speech (or DTMF)
resets it and the reprompt count.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class IdleAction(enum.Enum):
    REPROMPT = "reprompt"
    HANG_UP = "hang_up"


@dataclass
class IdlePolicy:
    timeout_ms: int = 10_000
    max_reprompts: int = 2
    _quiet_since: float | None = None
    reprompts: int = 0

    def caller_active(self, now_ms: float) -> None:
        """The caller spoke or keyed a digit: they are here."""
        self._quiet_since = None
        self.reprompts = 0

    def bot_speaking(self) -> None:
        self._quiet_since = None

    def quiet(self, now_ms: float) -> None:
        """Nobody is speaking now (called repeatedly; the first call starts the clock)."""
        if self._quiet_since is None:
            self._quiet_since = now_ms

    def due(self, now_ms: float) -> IdleAction | None:
        """What to do now, if anything. Each action restarts the clock (the bot speaks next)."""
        if self._quiet_since is None or now_ms - self._quiet_since < self.timeout_ms:
            return None
        self._quiet_since = None
        if self.reprompts >= self.max_reprompts:
            return IdleAction.HANG_UP
        self.reprompts += 1
        return IdleAction.REPROMPT
