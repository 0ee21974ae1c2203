"""A call whose engine was lost mid-call (bot/edge/session.py): the caller is held — the fallback
lines, a chime whenever the line has been quiet — while the edge reconnects within the window, and
what they say meanwhile is kept; a new session gets the conversation so far and that audio. No
engine in time: the apology, then a transfer or the end of the call."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from bot.audio import g711
from bot.audio.frames import FRAME_MS
from bot.edge.buffers import CallerFrame
from bot.edge.call_actions import CallActions
from bot.edge.call_log import CallLog, Decision
from bot.edge.config import BotConfig
from bot.edge.engine_link import EngineUnavailable, RealtimeConnection, RealtimeTarget
from bot.edge.fallback_audio import FallbackAudio
from bot.edge.port import CallPort
from bot.edge.replay import Replay
from bot.edge.session_setup import session_update

RECONNECT_TRY_S = 1.5  # one handshake attempt while the caller holds
RECONNECT_PAUSE_S = 0.25
CHIME_AFTER_S = 1.5  # of quiet while held: a chime (never more than ~2 s of silence)
HELD_CHUNK = 16 * 200  # bytes of 8 kHz PCM16: what was said while held goes up 200 ms an append
FALLBACK_ITEM = "fallback_"  # playout items the edge plays itself: the engine never had them


class EngineRecovery:
    def __init__(self, call: CallPort, bot: BotConfig, target: RealtimeTarget,
                 connect: Callable[[RealtimeTarget], Awaitable[RealtimeConnection]], tools: list[dict[str, Any]],
                 log: CallLog, actions: CallActions, replay: Replay, fallback: FallbackAudio) -> None:  # fmt: skip
        self.call, self.bot, self.target, self._connect, self._tools = call, bot, target, connect, tools
        self._log, self._actions, self._replay, self._fallback = log, actions, replay, fallback
        self._held: deque[bytes] = deque(maxlen=int(bot.engine_reconnect_s * 1000 / FRAME_MS))
        self._held_voiced = False
        self._quiet_since = 0.0  # loop ms when our last fallback sound ends
        self.outcome: str | None = None  # set when it ended the call itself
        # Back on a new engine whose first reply audio has not come yet (a promoted standby may take
        # seconds to answer the replayed turn): the chime goes on whenever the line is quiet.
        self.waiting = False

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time() * 1000

    def heard(self, frames: Iterable[CallerFrame]) -> None:
        """The caller's frames while there is no engine (echo-cancelled; the newest window kept)."""
        for f in frames:
            self._held.append(f.clean)
            self._held_voiced = self._held_voiced or bool(f.voiced)

    async def recover(self, caller_said: Sequence[str]) -> tuple[RealtimeConnection | None, bool]:
        """A new connection with the conversation replayed, and whether the caller's held speech was
        sent on it (the engine answers that); or (None, False) once the call was handed off or ended."""
        start = self._now()
        self._log.decided(Decision.ENGINE_LOST, "engine lost mid-call: holding the caller, reconnecting")
        self.play("hold")
        deadline = start + self.bot.engine_reconnect_s * 1000
        while (left_ms := deadline - self._now()) > 0:
            target = dataclasses.replace(self.target, connect_timeout_s=min(left_ms / 1000, RECONNECT_TRY_S))
            try:
                conn = await self._connect(target)
            except EngineUnavailable:
                self._keep_company()
                await asyncio.sleep(RECONNECT_PAUSE_S)
                continue
            conn.update_session(session_update(conn.capabilities, self.bot, self._tools))
            items = self._replay.items(conn.capabilities.dialect)
            conn.replay(items)
            lost_ms = int(self._now() - start)
            self._log.decided(Decision.ENGINE_BACK, f"engine back after {lost_ms} ms; {len(items)} items replayed",
                              lost_ms=lost_ms, items=len(items))  # fmt: skip
            spoke = self._held_voiced
            if spoke:
                held = b"".join(self._held)
                for i in range(0, len(held), HELD_CHUNK):
                    conn.append_audio(g711.pcm16_to_ulaw(held[i : i + HELD_CHUNK]))
            self._held.clear()
            self._held_voiced = False
            # The hold line stops where it is: the new engine has the floor (a standby can be back
            # within a second, with "one moment please" still playing; the caller must not be
            # barging into a line the engine never had).
            self.call.media.playout.clear()
            self.waiting, self._quiet_since = True, self._now()
            return conn, spoke
        self._log.decided(Decision.ENGINE_GONE, f"no engine after {self.bot.engine_reconnect_s:.0f} s")
        if self.bot.transfer_target:
            self.play("transfer")
            await self._actions.when_played()
            self._actions.transfer({"reason": "technical problem"}, caller_said)
            # its outcome comes as a TransferStatus (bot/edge/port.py): the session ends the call or says sorry
        else:
            await self.goodbye()
        return None, False

    async def goodbye(self) -> None:
        self.play("sorry")
        await self._actions.when_played()
        self.call.hangup()
        self.outcome = "engine_lost"

    def play(self, line: str) -> None:
        self._push(f"{FALLBACK_ITEM}{line}", self._fallback.lines.get(line, self._fallback.chime))

    def until_answered(self, frames: Sequence[CallerFrame]) -> None:
        """Each tick while `waiting`: a chime after CHIME_AFTER_S of quiet on both sides (the caller's
        speech counts as sound: no chime over it)."""
        if any(f.voiced for f in frames):
            self._quiet_since = max(self._quiet_since, self._now())
        self._keep_company()

    def answered(self) -> None:
        """The new engine's reply is playing: it has the floor."""
        self.waiting = False

    def _keep_company(self) -> None:
        if self._now() - self._quiet_since >= CHIME_AFTER_S * 1000 and not self.call.media.playout.busy:
            self._push(f"{FALLBACK_ITEM}chime", self._fallback.chime)

    def _push(self, item_id: str, audio: bytes) -> None:
        playout = self.call.media.playout
        playout.push(item_id, audio)
        playout.finish(item_id)
        self._quiet_since = self._now() + len(audio) / 16  # 8 kHz PCM16: 16 bytes a ms
