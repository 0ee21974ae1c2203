"""A SIP worker process: one pjsua2 endpoint (at most its call capacity), each call bridged to the
realtime engine by a `CallSession`. Many workers run behind Kamailio. A worker with a free line also
places the outbound calls asked for in Redis (bot/dialer.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import time

import pjsua2 as pj
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot import callbacks
from bot.dialer import DialQueue, DialRequest, routed
from bot.edge.config import BotConfig, TurnConfig
from bot.edge.engine_link import RealtimeTarget
from bot.edge.fallback_audio import FallbackAudio
from bot.edge.session import CallSession
from bot.live_calls import hang_ups_for
from bot.settings import Settings
from bot.state import CallStore
from flows.call_state import FlowState
from flows.callbacks import CallbackBook
from flows.contact_center import build_registry, instructions
from flows.crm import Crm, CrmBackend
from flows.http_crm import HttpCrm
from sip.account import InboundAccount, TrunkConfig
from sip.call import CallControl, SipCall
from sip.endpoint import EndpointConfig, SipEndpoint

log = logging.getLogger(__name__)
OWNED_STOP_S = 5.0  # a task the worker owns has this long to end once cancelled at shutdown
HEARTBEAT_TTL_S = 6.0  # a worker silent this long is dead: its calls get reaped


def rtp_ports_for(sip_port: int) -> int:
    """A distinct RTP range for each worker on a host, derived from its SIP port (5060 → 20000...)."""
    return 20000 + 40 * (sip_port % 1000)


class SipWorker:
    def __init__(self, settings: Settings, worker_id: str, host: str, port: int) -> None:
        self.settings = settings
        self.worker_id = worker_id
        self.host = host
        self.port = port
        self._calls: dict[int, tuple[SipCall, CallControl]] = {}
        self._sessions: set[asyncio.Task[str]] = set()
        self._outbound: dict[str, CallSession] = {}  # dial request id → its call, while it lasts
        self._live: dict[str, CallSession] = {}  # call id → its session, while it lasts (the page's hang-up)
        self._stop = asyncio.Event()
        self.fallback = FallbackAudio()  # what calls hear if the engine is lost mid-call
        self.failed = False  # a task the worker owns failed: it exits non-zero (the supervisor restarts it)

    async def run(self) -> None:
        s = self.settings
        redis = Redis.from_url(s.redis_url or "redis://127.0.0.1:6379/0", socket_timeout=2, socket_connect_timeout=2)
        self.store = CallStore(redis, post_call=bool(s.post_call_url))
        self.store.start()
        self.crm: CrmBackend = Crm(redis)
        if s.crm_url:
            self.crm = HttpCrm(s.crm_url, s.crm_secret.get_secret_value() if s.crm_secret else "")
        flow_state = FlowState(redis)
        self.tools = build_registry(self.crm, flow_state, callbacks=CallbackBook(redis, flow_state, s.timezone,
                                                                                 s.callback_soon_s))  # fmt: skip
        self.bot = BotConfig(instructions=s.bot_instructions or instructions(), voice=s.bot_voice,
                             transfer_target=s.transfer_uri, transfer_mode=s.transfer_mode,
                             agent_ring_timeout_s=s.agent_ring_timeout_s, max_concurrent_calls=s.max_concurrent_calls,
                             idle_timeout_ms=s.idle_timeout_ms, idle_max_reprompts=s.idle_max_reprompts,
                             record_dir=s.record_dir, recordings_dir=s.recordings_path, media_timeout_s=s.media_timeout_s, ack_timeout_s=s.ack_timeout_s,
                             turns=TurnConfig(s.turn_detection, s.turn_eagerness, edge_interruption=s.edge_interruption,
                                              local_vad=s.local_vad,
                                              echo_cancellation=s.echo_cancellation,
                                              noise_reduction=s.noise_reduction))  # fmt: skip
        await self._reap_previous_life()
        key = s.realtime_api_key.get_secret_value() if s.realtime_api_key else None
        self.target = RealtimeTarget(s.realtime_url, s.realtime_kind, key, s.realtime_connect_timeout_s,
                                     s.realtime_ca_file)  # fmt: skip
        self.endpoint = SipEndpoint(EndpointConfig(host=self.host, port=self.port, max_calls=s.sip_max_calls))
        self.account = InboundAccount(self._on_incoming)
        trunk = TrunkConfig(s.trunk_registrar, s.trunk_user, s.trunk_password.get_secret_value()) if (
            s.trunk_registrar and s.trunk_user and s.trunk_password) else None  # fmt: skip
        rtp = (self.host, s.rtp_port_base or rtp_ports_for(self.port), 4 * self.endpoint.capacity + 8)
        self.account.open(f"sip:{s.caller_id}@{self.host}:{self.port}", rtp, trunk)  # (the From of calls we place)
        self.endpoint.start()
        log.info("worker %s: SIP on %s:%d (udp, tcp), %d calls at most", self.worker_id, self.host, self.port,
                 self.endpoint.capacity)  # fmt: skip
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop.set)
        heartbeat = loop.create_task(self._heartbeat(), name="heartbeat")
        heartbeat.add_done_callback(self._owned_failed)
        fetch = loop.create_task(self.fallback.keep_fetching(self.target, self.bot), name="fallback-lines")
        fetch.add_done_callback(self._owned_failed)
        dialer = loop.create_task(self._dial_loop(DialQueue(redis, self.worker_id)), name="dialer")
        dialer.add_done_callback(self._owned_failed)
        try:
            await self._stop.wait()
        finally:
            for task in (heartbeat, fetch, dialer):
                task.cancel()
            _, stuck = await asyncio.wait((heartbeat, fetch, dialer), timeout=OWNED_STOP_S)
            for task in stuck:  # (a task that did not take its cancellation must not keep the worker up)
                log.error("worker %s: task %s did not stop within %.0f s; shutting down anyway", self.worker_id,
                          task.get_name(), OWNED_STOP_S)  # fmt: skip
            await self._shutdown(redis)

    async def _heartbeat(self) -> None:
        while True:
            await self.store.heartbeat(self.worker_id, HEARTBEAT_TTL_S)
            await asyncio.sleep(HEARTBEAT_TTL_S / 3)

    async def _reap_previous_life(self) -> None:
        """A worker restarted under the same id: the calls it had are gone with its old process."""
        try:
            ended = await self.store.calls_of(self.worker_id)
            await self.store.end_calls(ended, "worker_died", at_last_heartbeat=True)
        except (RedisError, OSError) as exc:
            log.warning("could not reap earlier calls: %s", exc)
            return
        if ended:
            log.warning("worker %s: ended %d calls of its previous process", self.worker_id, len(ended))

    def _on_incoming(self, pj_call_id: int, headers: dict[str, str]) -> None:
        """On the loop thread, inside libHandleEvents: only create objects and schedule the session."""
        try:
            call = SipCall(self.account, pj_call_id, self.endpoint.ports, self._gone)
        except pj.Error as exc:  # the INVITE's dialog vanished already: pjsua answers it itself
            log.warning("incoming call %d could not be taken: %s", pj_call_id, exc.info())
            return
        control = CallControl(call)
        self._calls[pj_call_id] = (call, control)
        self.endpoint.active_calls = len(self._calls)
        bot = self.bot
        if headers.get("x-voicebot-record", "").lower() in ("off", "no", "false", "0"):
            bot = dataclasses.replace(bot, recordings_dir=None)  # (the trunk says: not this call)
        session = CallSession(control, self.target, bot, self.tools, self.store, self.worker_id,
                              fallback=self.fallback, legs=self)  # fmt: skip
        task = asyncio.get_running_loop().create_task(session.run(), name=f"call-{call.call_id}")
        self._sessions.add(task)
        task.add_done_callback(self._session_done)
        self._track(call.call_id, session, task)

    async def _dial_loop(self, queue: DialQueue) -> None:
        """Outbound requests, taken one at a time while a line is free; a request asked to hang up
        (DELETE /calls/{id}) is ended; every second the callbacks now due are queued (bot/callbacks.py).
        Redis unreachable: retried, never fatal."""
        released_at = 0.0
        while True:
            try:
                await queue.ensure_group()
                break
            except (RedisError, OSError) as exc:
                log.warning("worker %s: dial queue unavailable (%s); retrying", self.worker_id, exc)
                await asyncio.sleep(2.0)
        while True:
            try:
                for dial_id, session in list(self._outbound.items()):
                    if await queue.cancelled(dial_id):
                        session.hang_up_by_request()
                for call_id in await hang_ups_for(queue.redis, list(self._live)):  # (the live page's button)
                    if (asked := self._live.get(call_id)) is not None:
                        asked.hang_up_by_request()
                if (now := time.monotonic()) >= released_at + 1.0:
                    released_at = now
                    await callbacks.release_due(queue.redis, self.bot.instructions)
                if len(self._calls) >= self.endpoint.capacity:
                    await asyncio.sleep(0.25)
                    continue
                request = await queue.take(block_ms=1000)
                if request is not None and await queue.cancelled(request.id):
                    self.store.dial_state(request.id, {"state": "ended", "outcome": "cancelled"})
                elif request is not None:
                    self._place(request)
            except (RedisError, OSError) as exc:
                log.warning("worker %s: dial queue unavailable (%s)", self.worker_id, exc)
                await asyncio.sleep(2.0)

    def _place(self, request: DialRequest) -> None:
        s = self.settings
        uri = routed(request.uri, s.outbound_route or s.trunk_registrar)
        if uri is None:
            log.warning("worker %s: no outbound route for the number %s", self.worker_id, request.uri)
            self.store.dial_state(request.id, {"state": "ended", "outcome": "failed",
                                               "error": "no outbound route for numbers (VOICEBOT_OUTBOUND_ROUTE)"})  # fmt: skip
            return
        try:
            control = self._new_call(uri, {})
        except pj.Error as exc:
            log.warning("worker %s: could not dial %s: %s", self.worker_id, request.uri, exc.info())
            self.store.dial_state(request.id, {"state": "ended", "outcome": "failed", "error": exc.info()[:200]})
            return
        bot = dataclasses.replace(self.bot, instructions=request.instructions_for(self.bot.instructions),
                                  amd=self.bot.amd and request.amd,
                                  recordings_dir=self.bot.recordings_dir if request.record else None)  # fmt: skip
        session = CallSession(control, self.target, bot, self.tools, self.store, self.worker_id, fallback=self.fallback,
                              legs=self)  # fmt: skip
        session.log.dial_id = request.id
        self._outbound[request.id] = session
        log.info(
            "worker %s: dialing %s (request %s, call %s)", self.worker_id, request.uri, request.id, control.call_id
        )
        task = asyncio.get_running_loop().create_task(session.run_outbound(self.settings.ring_timeout_s),
                                                      name=f"call-{control.call_id}")  # fmt: skip
        self._sessions.add(task)
        task.add_done_callback(self._session_done)
        task.add_done_callback(lambda _: self._outbound.pop(request.id, None))
        self._track(control.call_id, session, task)

    def _track(self, call_id: str, session: CallSession, task: asyncio.Task[str]) -> None:
        self._live[call_id] = session
        task.add_done_callback(lambda _: self._live.pop(call_id, None))

    def dial(self, uri: str, headers: dict[str, str]) -> CallControl | None:
        """Another call from this worker, for a session (a warm transfer's agent): the session owns it
        and hangs it up; None if no line is free or pjsua refuses it at once."""
        if len(self._calls) >= self.endpoint.capacity:
            return None
        try:
            return self._new_call(uri, headers)
        except pj.Error as exc:
            log.warning("worker %s: could not dial %s: %s", self.worker_id, uri, exc.info())
            return None

    def _new_call(self, uri: str, headers: dict[str, str]) -> CallControl:
        call = SipCall(self.account, pj.PJSUA_INVALID_ID, self.endpoint.ports, self._gone)
        call.dial(uri, headers)
        control = CallControl(call)
        self._calls[call.getId()] = (call, control)
        self.endpoint.active_calls = len(self._calls)
        return control

    def _owned_failed(self, task: asyncio.Task[None]) -> None:
        """A background task of the worker failed: the worker exits (non-zero) and is restarted."""
        if not task.cancelled() and task.exception() is not None:
            log.error("worker task %s failed; stopping the worker", task.get_name(), exc_info=task.exception())
            self.failed = True
            self._stop.set()

    def _session_done(self, task: asyncio.Task[str]) -> None:
        self._sessions.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call session crashed", exc_info=task.exception())

    def _gone(self, call: SipCall) -> None:
        for key, (c, control) in list(self._calls.items()):
            if c is call:
                control.gone()
                del self._calls[key]  # the last reference: pjsua2's object is freed after this callback
        self.endpoint.active_calls = len(self._calls)

    async def _shutdown(self, redis: Redis) -> None:
        for task in list(self._sessions):
            task.cancel()
        await asyncio.gather(*self._sessions, return_exceptions=True)
        await self.endpoint.hang_up_all()
        self._calls.clear()
        self.account.shutdown()
        del self.account
        self.endpoint.destroy()
        await self.store.aclose()
        if isinstance(self.crm, HttpCrm):
            await self.crm.aclose()
        await redis.aclose()
