"""Who decides that the caller interrupts the bot: one small strategy per mode.

- `EdgeDetector`: the edge's own echo-cancelled detector on the media clock (the default). The onset
  rule runs there next to it and holds the playout within a frame; the policy decides the rest.
- `EngineVad`: the edge owns barge-in, but hears the caller through the engine's speech events.
- `EngineOwned`: the engine interrupts its own reply (and replies on its own); the edge only stops
  its playout when the engine says the caller started speaking.

Pure: each takes what happened (frames, the engine's speech events, a committed turn, a transcript,
the time in ms) and says what to do; the call session does it. `BargeAction`s go to the playout's
`Hold` (PAUSE, RESUME) or end the reply (INTERRUPT).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from bot.audio.echo import CallerDetector
from bot.edge.buffers import CallerFrame, FrontEnd, FrontEndChain, InboundBuffer, PlayoutBuffer
from bot.edge.config import TurnConfig
from bot.turn_policies.barge_in import BargeAction, BargeInPolicy, BargeState

ECHO_TAIL_MS = 800  # the bot's echo may come back this long after its last frame (line + jitter buffers)


class Turn(enum.Enum):
    """What a committed caller turn asks of the session."""

    ENGINE = "engine"  # nothing: the engine replies on its own
    REPLY = "reply"  # ask for the reply
    REDO = "redo"  # the caller went on talking after a reply had started: drop it, ask again
    HOLD = "hold"  # said over the bot: its transcript decides (`verdict`)
    ECHO = "echo"  # the bot's own voice coming back: delete the item


@dataclass(frozen=True)
class Verdict:
    turn: bool  # the words were a turn (answer them); else delete the item and go on
    action: BargeAction | None


class _HearsThroughTheEngine:
    """No front end of its own at the edge: no frames to judge."""

    def attach(self, inbound: InboundBuffer, playout: PlayoutBuffer) -> None:
        pass

    def detach(self, inbound: InboundBuffer) -> None:
        pass

    def frames(self, frames: list[CallerFrame], bot_active: bool, now: float) -> list[BargeAction]:
        return []


class EngineOwned(_HearsThroughTheEngine):
    name = "engine"

    def speech(self, started: bool, bot_active: bool, now: float) -> BargeAction | None:
        """The engine has cancelled its reply already: stop ours too."""
        return BargeAction.INTERRUPT if started else None

    def tick(self, now: float, bot_active: bool) -> BargeAction | None:
        return None

    def committed(self, item_id: str, bot_active: bool, now: float) -> Turn:
        return Turn.ENGINE

    def verdict(self, item_id: str, transcript: str, reply_left_ms: int | None) -> Verdict | None:
        return None

    def interrupted_elsewhere(self) -> None:
        pass


class EngineVad(_HearsThroughTheEngine):
    """The edge decides, from the engine's speech_started / speech_stopped."""

    name = "engine_vad"

    def __init__(self, policy: BargeInPolicy | None = None) -> None:
        self.policy = policy or BargeInPolicy()
        self._overlapped = False  # the caller's current turn overlapped the bot or its echo
        self._bot_last_active = -1e9

    def speech(self, started: bool, bot_active: bool, now: float) -> BargeAction | None:
        if started:
            self._overlapped = bot_active or now - self._bot_last_active < ECHO_TAIL_MS
        return self.policy.engine_speech(started, bot_active, now)

    def tick(self, now: float, bot_active: bool) -> BargeAction | None:
        if bot_active:
            self._bot_last_active = now
        return self.policy.tick(now, bot_active)

    def committed(self, item_id: str, bot_active: bool, now: float) -> Turn:
        heard = self._heard()
        overlapped, self._overlapped = self._overlapped or bot_active, False
        if self.policy.turn_committed(item_id, now):
            return Turn.HOLD
        if overlapped and not heard:
            # The engine's VAD made a turn of something our detector never took for the caller
            # while the bot talked: its own voice coming back.
            return Turn.ECHO
        return Turn.REDO if bot_active else Turn.REPLY

    def _heard(self) -> bool:
        return True  # the engine's events are all we hear the caller by

    def verdict(self, item_id: str, transcript: str, reply_left_ms: int | None) -> Verdict | None:
        if not self.policy.awaiting(item_id):
            return None
        turn, action = self.policy.verdict(item_id, transcript, reply_left_ms)
        return Verdict(turn, action)

    def interrupted_elsewhere(self) -> None:
        self.policy.interrupted_elsewhere()


class EdgeDetector(EngineVad):
    """The edge decides, from its own detector's frames; the engine's speech events only mark the
    caller's turn (its VAD may be hearing the bot's echo)."""

    name = "edge_vad"

    def __init__(self, policy: BargeInPolicy | None = None, *, echo_cancel: bool = True,
                 front_end: Callable[[], FrontEnd] | None = None) -> None:  # fmt: skip
        super().__init__(policy)
        self._front_end = front_end or (lambda: CallerDetector(echo_cancel=echo_cancel))
        self._seen = -1  # the last frame the policy took
        self._caller_speaking = False

    def attach(self, inbound: InboundBuffer, playout: PlayoutBuffer) -> None:
        self._playout = playout
        inbound.attach(FrontEndChain(self._front_end(), self.policy.onset_rule(), playout))

    def detach(self, inbound: InboundBuffer) -> None:
        inbound.detach()

    def frames(self, frames: list[CallerFrame], bot_active: bool, now: float) -> list[BargeAction]:
        actions = []
        for f in frames:
            if f.voiced is not None:
                action = self.policy.frame(f.voiced, f.onset, bot_active, now)
                if action is not None:
                    actions.append(action)
            self._seen = f.number
        if self.policy.state is not BargeState.PAUSED:
            self._playout.hold.settle(self._seen)  # a pause at an onset the policy did not take
        return actions

    def speech(self, started: bool, bot_active: bool, now: float) -> BargeAction | None:
        self._caller_speaking = started
        if started:
            self._overlapped = bot_active or now - self._bot_last_active < ECHO_TAIL_MS
        return None

    def tick(self, now: float, bot_active: bool) -> BargeAction | None:
        if bot_active:
            self._overlapped |= self._caller_speaking
        return super().tick(now, bot_active)

    def _heard(self) -> bool:
        return self.policy.heard


Strategy = EngineOwned | EngineVad | EdgeDetector


def strategy_for(turns: TurnConfig) -> Strategy:
    if not turns.edge_interruption:
        return EngineOwned()
    if not turns.local_vad:
        return EngineVad()
    return EdgeDetector(echo_cancel=turns.echo_cancellation)
