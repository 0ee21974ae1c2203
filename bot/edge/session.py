"""One phone call bridged to a realtime engine: caller audio up, bot audio down, tools routed to flows.

It drives a `CallPort` (bot/edge/port.py) and a `RealtimeConnection`, and imports no SIP stack.
Control before media: barge-in clears local playout first, then tells the engine what was heard.
Every task of the call runs in one task group: whichever ends the call (the caller, the bot, the
engine) ends them all, and a task that fails fails the call with outcome `error`, logged.
Time is the event loop's clock (ms), so the unit tests run the call on a virtual one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Coroutine
from typing import Any

import aiohttp

from bot.audio import g711
from bot.edge.amd_watch import AmdAction, AmdWatch
from bot.edge.barge import Strategy, strategy_for
from bot.edge.call_actions import CallActions
from bot.edge.call_clock import CallClock, now_ms
from bot.edge.call_log import CallLog, Decision
from bot.edge.config import BotConfig
from bot.edge.control_events import ControlEvents
from bot.edge.engine_events import EngineEvents
from bot.edge.engine_link import EngineUnavailable, RealtimeConnection, RealtimeTarget, open_websocket
from bot.edge.engine_recovery import FALLBACK_ITEM, EngineRecovery
from bot.edge.fallback_audio import FallbackAudio
from bot.edge.line_tap import LineTap
from bot.edge.port import CallPort, LineDialer
from bot.edge.replay import Replay
from bot.edge.ringing import until_answered
from bot.edge.session_setup import session_update
from bot.edge.spoken import Connect
from bot.edge.ticks import until_tick
from bot.edge.tool_runner import ToolRunner
from bot.edge.warm_transfer import WarmTransfer
from bot.log_format import CALL_ID, begin_turns
from bot.state import CallStore
from bot.turn_policies.barge_in import BargeAction
from bot.turn_policies.dtmf import DtmfCollector
from bot.turn_policies.idle import IdlePolicy
from flows.registry import CallContext, ToolRegistry

log = logging.getLogger(__name__)
UPLINK_TICK_S = 0.04  # two frames per append: half the wakeups and messages, <= 20 ms later VAD
# A refusal that another worker would give too (the global call limit, the shared engine): 503 with
# Retry-After (RFC 3261 21.5.4). The front door passes it to the caller instead of trying every
# worker and marking each one down (infra/kamailio/kamailio.cfg).
SERVICE_WIDE = {"Retry-After": "5"}


class _CallOver(Exception):
    """Raised in the task group's body once the call has an outcome: ends every task."""


class _LinkOver(Exception):
    """The engine's event stream ended: ends that connection's pump."""


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """The exceptions in a group, nested groups (the engine link's own task group) opened."""
    return [leaf for e in group.exceptions for leaf in (_leaves(e) if isinstance(e, BaseExceptionGroup) else [e])]


class CallSession(EngineEvents, ControlEvents):
    def __init__(self, call: CallPort, target: RealtimeTarget, bot: BotConfig, tools: ToolRegistry,
                 store: CallStore | None, worker: str, connect: Connect = open_websocket,
                 barge: Strategy | None = None, fallback: FallbackAudio | None = None,
                 legs: LineDialer | None = None) -> None:  # fmt: skip
        self.call = call
        self.target = target = dataclasses.replace(target, call_id=call.call_id)
        self.bot = bot
        self.tools = tools
        self.log = CallLog(store, call, worker)
        self.worker = worker
        self._connect = connect
        self.context = CallContext(call.call_id, call.remote_uri, call.local_uri)
        self.outcome = "caller_hung_up"
        self.barge: Strategy = barge or strategy_for(bot.turns)
        self.idle = IdlePolicy(bot.idle_timeout_ms, bot.idle_max_reprompts)
        self.keypad = DtmfCollector()
        self._clock = CallClock(call, bot, self.idle, self.keypad)
        self._conn: RealtimeConnection | None = None
        self._group: asyncio.TaskGroup | None = None
        self._runner: ToolRunner | None = None
        self._done = asyncio.Event()
        self._active_response: str | None = None
        self._create_sent = False  # a response.create is on its way (no response.created yet)
        self._after_playout: tuple[str, dict[str, Any]] | None = None  # hangup / transfer, once the bot is heard
        self._media_up = False
        self._turn_ended_at: float | None = None
        self._held_turn_at: float | None = None
        self._greets = True  # the bot speaks first once media is up (on a call we placed, after AMD)
        self.caller_speaking = False
        self._caller_said: list[str] = []  # the last few things the caller said, for a transfer summary
        self._echo_items: set[str] = set()  # turns dropped as the bot's own echo
        self._held_speech = False  # the caller's words from an engine outage are on the new connection
        self._amd: AmdWatch | None = None  # an outbound call's answering-machine detection, while it listens
        self._deaf = False  # leaving a voicemail: the machine's sounds are no turns and interrupt nothing
        self.tap = LineTap(bot, self.log, call.call_id)  # the recording, reply gaps, the diagnostic dump
        warm = legs is not None and bot.transfer_mode == "warm" and bool(bot.transfer_target)
        self._warm = WarmTransfer(call, legs, bot, self.log, target, connect) if warm and legs else None
        self._on_hold = False  # a warm transfer: the caller hears music, the engine hears nothing
        self._joined: CallPort | None = None  # the agent's call, once the caller was handed to them
        self._actions = CallActions(call, bot, self.log)
        self._replay = Replay()  # what to give a new engine session if this one is lost
        self._recovery = EngineRecovery(call, bot, target, connect, tools.schemas(), self.log, self._actions,
                                        self._replay, fallback or FallbackAudio())  # fmt: skip

    # --- the call's life -----------------------------------------------------------------------
    async def run(self) -> str:
        """Answer, bridge until either side ends, record the outcome. Returns it."""
        call = self.call
        CALL_ID.set(call.call_id)  # (this task's context: every log line of the call carries it)
        begin_turns()  # ...and the turn it is in
        if not await self.log.admit(self.bot.max_concurrent_calls):
            log.warning("call %s refused: %d calls already up", call.call_id, self.bot.max_concurrent_calls)
            call.answer(503, "All Lines Busy", SERVICE_WIDE)
            self.outcome = "refused_busy"
            return self.outcome
        self.log.ringing()
        call.answer(180)
        try:
            self._conn = await self._connect(self.target)
        except EngineUnavailable as exc:
            log.error("call %s: %s", call.call_id, exc)
            call.answer(503, "Engine Unavailable", SERVICE_WIDE)
            self.outcome = "engine_unavailable"
            self.log.ended(self.outcome, call.media)
            return self.outcome
        return await self._serve_call(self._conn, answer=True)

    async def run_outbound(self, ring_timeout_s: float) -> str:
        """A call we placed, ringing: the engine session, then the callee's answer or how the call
        failed (busy, no_answer, rejected, failed: bot/dialer.py), then the bridge as for a caller."""
        call = self.call
        CALL_ID.set(call.call_id)
        begin_turns()
        self.outcome = "callee_hung_up"  # unless the bot ends it
        self.log.dialing()
        try:
            self._conn = await self._connect(self.target)
        except EngineUnavailable as exc:
            log.error("call %s: %s; cancelling the call", call.call_id, exc)
            call.hangup()
            self.outcome = "engine_unavailable"
            self.log.ended(self.outcome, call.media)
            return self.outcome
        failed = await until_answered(call, ring_timeout_s, self.log)
        if failed is not None or self._done.is_set():  # (or hung up on request while it rang)
            await self._conn.close()
            self.outcome = self.outcome if self._done.is_set() else str(failed)
            self.log.ended(self.outcome, call.media)
            return self.outcome
        self._clock.confirmed.set()
        self.log.answered()
        if self.bot.amd:
            self._amd = AmdWatch(self.log, self.bot.amd_on_machine, self._now())
        else:
            self._greets = False  # (a phone menu, or a line known to be a person: they speak first)
        return await self._serve_call(self._conn, answer=False)

    async def _serve_call(self, conn: RealtimeConnection, *, answer: bool) -> str:
        call = self.call
        try:
            await self._bridge(conn, answer)
            if self._joined is not None and self._warm is not None:  # handed to an agent: the bot leaves
                if self._conn is not None:
                    await self._conn.close()
                    self._conn = None
                await self._warm.held(self._joined)  # (the call lasts as long as they talk)
        finally:
            if self._conn is not None:
                await self._conn.close()
            if call.alive:
                call.hangup()
            self.barge.detach(call.media.inbound)
            try:
                await self.tap.close()
            finally:
                self.log.ended(self.outcome, call.media, self._clock.rtp)
        return self.outcome

    async def _bridge(self, conn: RealtimeConnection, answer: bool) -> None:
        call = self.call
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                self._runner = ToolRunner(self.tools, self.context, self._send_tool_output, filler=self._filler,
                                          on_action=self._set_after_playout, on_output=self._respond_to_tools,
                                          on_pci=self.tap.pci)  # fmt: skip
                conn.update_session(session_update(conn.capabilities, self.bot, self.tools.schemas()))
                if answer and not call.answer(200):
                    self.finish("answer_failed")
                else:
                    if answer:
                        self.log.answered()
                    self.barge.attach(call.media.inbound, call.media.playout)
                    group.create_task(self._engine(conn), name=f"engine-{call.call_id}")
                    group.create_task(self._control(), name=f"control-{call.call_id}")
                    group.create_task(self._clock.watch_ack(self), name=f"ack-{call.call_id}")
                    group.create_task(self.tap.run(), name=f"recording-{call.call_id}")
                await self._done.wait()
                raise _CallOver
        except* _CallOver:
            pass
        except* (ConnectionError, aiohttp.ClientError) as group_error:
            log.info("call %s: engine connection gone (%s)", call.call_id, group_error.exceptions[0])
            self.outcome = "engine_closed"
        except* Exception as group_error:
            for error in _leaves(group_error):
                log.error("call %s failed", call.call_id, exc_info=error)
            self.outcome = "error"

    def hang_up_by_request(self) -> None:
        """DELETE /calls/{id} (bot/dialer.py): ringing, the call is cancelled; answered, it ends."""
        self.call.hangup()
        self.finish("hung_up_by_request")

    def finish(self, outcome: str) -> None:
        if not self._done.is_set():
            self.outcome = outcome
            self._done.set()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """A task of the call's group: it ends with the call; its failure fails the call."""
        assert self._group is not None
        self._group.create_task(coro, name=f"{name}-{self.call.call_id}")

    _now = staticmethod(now_ms)

    async def _hand_over(self, args: dict[str, Any]) -> None:
        """A warm transfer (bot/edge/warm_transfer.py); the caller is back with the bot if it fails."""
        assert self._warm is not None
        self._on_hold = True
        try:
            agent = await self._warm.run(args, self._caller_said)
        finally:
            self._on_hold = False
        if agent is not None:
            self._joined = agent
            self.finish("transferred")
        else:
            self.say(self.bot.no_agent)

    def say(self, text: str) -> None:
        if self._conn is None or self._amd is not None:
            return  # (no engine: the fallback lines speak for the edge; AMD listening: silent)
        self._create_sent = True
        self._conn.say(text)

    def say_goodbye(self, text: str, outcome: str) -> None:
        """Say `text`, then hang up with `outcome` once it has been heard."""
        self._after_playout = ("hangup", {"outcome": outcome})
        self.say(text)

    def _filler(self) -> None:
        if self._active_response is None:
            self.say(self.bot.filler)

    def _create_response(self) -> None:
        if self._conn is None or self._amd is not None or self._deaf:
            return  # (no engine; or a callee not yet known to be a person, or a machine)
        self._create_sent = True
        self._conn.create_response()

    def _send_tool_output(self, call_id: str, output: Any) -> None:
        self._replay.tool_output(call_id, json.dumps(output))
        if self._conn is not None:
            self._conn.send_tool_output(call_id, output)

    @property
    def bot_active(self) -> bool:
        """The bot is talking, about to (a reply is being made), or holding its reply for the caller."""
        return self._create_sent or self._active_response is not None or self.call.media.playout.busy

    # --- caller → engine ------------------------------------------------------------------------
    async def _uplink(self) -> None:
        """Every tick: the caller's frames (echo already removed on the media clock) go to the
        barge-in strategy, then up to the engine (while there is none, they are only recorded)."""
        inbound = self.call.media.inbound
        loop = asyncio.get_running_loop()
        while True:
            frames = inbound.drain_frames()
            now = self._now()
            self.tap.frames(frames)
            if self._amd is not None and (amd := self._amd.frames(frames, now)) is not None:
                self._on_amd(amd)
            conn = self._conn
            if conn is None or self._on_hold:
                if conn is None:
                    self._recovery.heard(frames)
                await asyncio.sleep(until_tick(loop.time(), UPLINK_TICK_S))
                continue
            if self._recovery.waiting:  # (back on a new engine, its first reply not here yet)
                self._recovery.until_answered(frames)
            for action in self.barge.frames(frames, self.bot_active, now):
                self._act(action)
            self._act(self.barge.tick(now, self.bot_active))
            if frames:
                conn.append_audio(g711.pcm16_to_ulaw(b"".join(f.clean for f in frames)))
            await asyncio.sleep(until_tick(loop.time(), UPLINK_TICK_S))

    def _on_amd(self, action: AmdAction) -> None:
        heard, self._amd = self._amd.items if self._amd else [], None
        if self._conn is not None and action is not AmdAction.SPEAK:
            for item in heard:  # (a greeting the engine would otherwise answer)
                self._conn.delete_item(item)
        if action is AmdAction.SPEAK:
            self._create_response()  # (to their "Hello?", which the engine has heard)
        elif action is AmdAction.LEAVE_MESSAGE:
            self._deaf = True
            self.say_goodbye(self.bot.voicemail_message, "voicemail")
        else:
            self.finish("voicemail")

    def _act(self, action: BargeAction | None) -> None:
        """Carry out what the barge-in strategy decided."""
        if action is None:
            return
        if self._deaf:
            action = BargeAction.RESUME  # (a message on a machine plays to its end)
        playout = self.call.media.playout
        if action is BargeAction.PAUSE:
            playout.hold.pause()  # silent from the next frame on; the reply waits where it stopped
            item, played = playout.current_item or "", playout.played_ms.get(playout.current_item or "", 0)
            self.log.decided(Decision.PAUSED, f"barge-in pause after {played} ms", played_ms=played, item_id=item)
        elif action is BargeAction.RESUME:
            playout.hold.resume()
            self.log.decided(Decision.RESUMED, "barge-in resumed: backchannel or noise, not an interruption")
        else:
            self._barge_in()

    def _barge_in(self) -> None:
        """Silence the bot now, then tell the engine how much of its reply was heard."""
        self.barge.interrupted_elsewhere()
        playout = self.call.media.playout
        item_id, played_ms = playout.clear() if playout.busy else (None, 0)
        interrupted = self._active_response
        if (item_id is None and interrupted is None) or self._conn is None:
            return
        if interrupted is not None:
            self._active_response = None
            self._conn.cancel()
        if item_id and not item_id.startswith(FALLBACK_ITEM):  # (the edge's own lines: nothing to truncate)
            self.log.decided(Decision.INTERRUPTED, f"barge-in after {played_ms} ms of {item_id}", played_ms=played_ms,
                             item_id=item_id)  # fmt: skip
            self._conn.truncate(item_id, played_ms)
        self._after_playout = None  # what the bot was about to do next is void: the caller has the floor

    # --- the engine connection, and its loss ------------------------------------------------------
    async def _engine(self, conn: RealtimeConnection) -> None:
        """The engine side of the call, connection after connection: when one is lost mid-call the
        caller hears the hold line while the edge reconnects and replays the conversation; if no
        engine answers in time, the apology, then a transfer or the end of the call."""
        while True:
            reason = await self._serve(conn)
            with contextlib.suppress(ConnectionError, OSError, aiohttp.ClientError):  # (it is gone already)
                await conn.close()
            if self._done.is_set():
                return
            self._conn = None
            log.warning("call %s: engine connection lost (%s); holding the caller and reconnecting",
                        self.call.call_id, reason)  # fmt: skip
            found = await self._reconnect()
            if found is None:
                return
            conn = found

    async def _serve(self, conn: RealtimeConnection) -> str:
        """Write and read one connection until it ends; why it ended."""
        reason = "closed by the engine"
        try:
            async with asyncio.TaskGroup() as link:
                link.create_task(conn.pump(), name=f"pump-{self.call.call_id}")
                await self._downlink(conn)
                raise _LinkOver
        except* _LinkOver:
            pass
        except* (ConnectionError, aiohttp.ClientError) as lost:
            reason = str(lost.exceptions[0]) or type(lost.exceptions[0]).__name__
        return reason

    async def _reconnect(self) -> RealtimeConnection | None:
        self._forget_engine_state()
        if self._done.is_set():
            return None
        conn, spoke = await self._recovery.recover(self._caller_said)
        if conn is None:
            if self._recovery.outcome:
                self.finish(self._recovery.outcome)
            return None
        self._conn = conn
        if spoke:  # the caller spoke while held: the new engine hears it, and answers
            self._held_speech = True
            return conn
        if self._replay.unanswered:
            self._create_response()  # what the caller said last was never answered
        else:
            self.say(self.bot.engine_back)
        return conn

    async def _goodbye(self) -> None:
        await self._recovery.goodbye()
        self.finish("engine_lost")
