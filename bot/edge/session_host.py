"""What the call session holds and does, as far as the parts mixed into it use it: the engine's
events (bot/edge/engine_events.py) and the call's control events (bot/edge/control_events.py).
`CallSession` (bot/edge/session.py) is the one host and implements every abstract method here;
these declarations let each part be typed."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from typing import Any

from bot.edge.amd_watch import AmdWatch
from bot.edge.barge import Strategy
from bot.edge.call_actions import CallActions
from bot.edge.call_clock import CallClock
from bot.edge.call_log import CallLog
from bot.edge.config import BotConfig
from bot.edge.engine_link import RealtimeConnection
from bot.edge.engine_recovery import EngineRecovery
from bot.edge.line_tap import LineTap
from bot.edge.port import CallPort
from bot.edge.replay import Replay
from bot.edge.tool_runner import ToolRunner
from bot.edge.warm_transfer import WarmTransfer
from bot.turn_policies.barge_in import BargeAction
from bot.turn_policies.dtmf import DtmfCollector
from bot.turn_policies.idle import IdlePolicy


class SessionHost(ABC):
    call: CallPort
    bot: BotConfig
    barge: Strategy
    idle: IdlePolicy
    keypad: DtmfCollector
    log: CallLog
    tap: LineTap
    caller_speaking: bool
    outcome: str
    _clock: CallClock
    _conn: RealtimeConnection | None
    _group: asyncio.TaskGroup | None
    _runner: ToolRunner | None
    _actions: CallActions
    _replay: Replay
    _recovery: EngineRecovery
    _active_response: str | None
    _create_sent: bool
    _held_speech: bool
    _deaf: bool
    _media_up: bool
    _greets: bool
    _turn_ended_at: float | None  # the caller's last turn ended (loop ms), until the reply's first audio
    _held_turn_at: float | None  # a turn said over the bot ended (loop ms), until its words are judged
    _amd: AmdWatch | None
    _warm: WarmTransfer | None
    _echo_items: set[str]
    _caller_said: list[str]
    _after_playout: tuple[str, dict[str, Any]] | None

    @property
    @abstractmethod
    def bot_active(self) -> bool: ...

    @abstractmethod
    def _now(self) -> float: ...

    @abstractmethod
    def _act(self, action: BargeAction | None) -> None: ...

    @abstractmethod
    def _barge_in(self) -> None: ...

    @abstractmethod
    def _create_response(self) -> None: ...

    @abstractmethod
    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None: ...

    @abstractmethod
    def finish(self, outcome: str) -> None: ...

    @abstractmethod
    def say(self, text: str) -> None: ...

    @abstractmethod
    def say_goodbye(self, text: str, outcome: str) -> None: ...

    @abstractmethod
    async def _uplink(self) -> None: ...

    @abstractmethod
    async def _goodbye(self) -> None: ...

    @abstractmethod
    async def _hand_over(self, args: dict[str, Any]) -> None: ...
