"""The engine's HTTP side: the Realtime WebSocket on /v1/realtime (OpenAI) and /voice-live/realtime
(Azure Voice Live), key check, who may open a session (bot/engine/admission.py), and /health."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import signal
import ssl
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from aiohttp import web

from bot.call_metrics import ENGINE_REFUSED, ENGINE_SESSIONS
from bot.engine.admission import EDGE, Admission
from bot.engine.runtime import EngineRuntime
from bot.engine.session import EngineSession
from bot.engine.speech.routes import SpeechRoutes
from bot.errors import ConfigError
from bot.log_format import CALL_ID, CALL_ID_HEADER, begin_turns
from bot.realtime.dialect import Dialect
from bot.safe_text import safe_text
from bot.settings import Settings

log = logging.getLogger(__name__)
STANDBY_LOOK_S = 3.0  # how often a standby looks for session configurations it has not prepared
RUNTIME = web.AppKey("runtime", EngineRuntime)


class Sessions(set[EngineSession]):
    """The open sessions (a named type, so the app key is precise)."""


SESSIONS = web.AppKey("sessions", Sessions)
ADMISSION = web.AppKey("admission", Admission)
PATHS = ("/v1/realtime", "/voice-live/realtime", "/openai/realtime")


def _error(status: int, code: str, message: str) -> web.Response:
    body = {"error": {"type": "invalid_request_error", "code": code, "message": message}}
    return web.json_response(body, status=status)


def _authorised(request: web.Request, key: str) -> bool:
    given = request.headers.get("api-key", "")
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        given = given or auth[7:].strip()
    return hmac.compare_digest(given.encode(), key.encode())


async def realtime(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    settings = runtime.settings
    edge = settings.engine_edge_key is not None and _authorised(request, settings.engine_edge_key.get_secret_value())
    if (
        not edge
        and settings.engine_api_key is not None
        and not _authorised(request, settings.engine_api_key.get_secret_value())
    ):
        ENGINE_REFUSED.inc()
        return _error(401, "invalid_api_key", "missing or wrong API key (send api-key or Authorization: Bearer)")
    client = EDGE if edge else (request.remote or "unknown")
    CALL_ID.set(safe_text(request.headers.get(CALL_ID_HEADER, ""), 100) or None)  # (this request's task)
    begin_turns()
    admission = request.app[ADMISSION]
    if (refused := admission.admit(client)) is not None:
        log.warning("session refused for %s: %s", client, refused)
        ENGINE_REFUSED.inc()
        return _error(503, "server_busy", refused)
    try:
        # The transport limit is above the event limit so an oversize event gets an error event, not a close.
        ws = web.WebSocketResponse(max_msg_size=2 * settings.engine_max_event_bytes, heartbeat=30)
        await ws.prepare(request)
        dialect = Dialect.from_handshake(request.path, request.headers)
        session = EngineSession(ws, runtime, dialect, request.query.get("model", "voicebot-local"))
        sessions = request.app[SESSIONS]
        sessions.add(session)
        ENGINE_SESSIONS.inc()
        log.info("session %s opened for %s (%s, %s)", session.id, client, dialect.value, request.path)
        try:
            await session.run()
        finally:
            sessions.discard(session)
            ENGINE_SESSIONS.dec()
            log.info("session %s closed", session.id)
        return ws
    finally:
        admission.leave(client)


async def health(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    lanes = {lane: runtime.pool.waiting(lane) for lane in ("asr", "tts", "brain")}
    return web.json_response({"status": "ok", "sessions": len(request.app[SESSIONS]), "waiting": lanes})


async def stats(request: web.Request) -> web.Response:
    """Stage latencies (ms, p50/p95 over recent responses) and speculative-ASR hits."""
    return web.json_response(request.app[RUNTIME].stats.summary())


def create_app(runtime: EngineRuntime) -> web.Application:
    app = web.Application()
    app[RUNTIME] = runtime
    app[SESSIONS] = Sessions()
    s = runtime.settings
    reserved = min(s.engine_reserved_for_edge, s.engine_max_sessions) if s.engine_edge_key else 0  # (no edge: none)
    app[ADMISSION] = Admission(s.engine_max_sessions, reserved, s.engine_max_sessions_per_client)
    for path in PATHS:
        app.router.add_get(path, realtime)
    SpeechRoutes(runtime, app[ADMISSION]).add_to(app)  # (an offline Azure Speech container, for the Speech SDK)
    app.router.add_get("/health", health)
    app.router.add_get("/stats", stats)

    async def close_sessions(app: web.Application) -> AsyncIterator[None]:
        warming = asyncio.ensure_future(runtime.warm_openings())  # (it logs its own failures)
        yield
        warming.cancel()
        await asyncio.gather(warming, return_exceptions=True)
        sessions: Sessions = app[SESSIONS]
        for session in list(sessions):
            await session.ws.close()
        await runtime.aclose()

    app.cleanup_ctx.append(close_sessions)
    return app


def require_key_beyond_loopback(settings: Settings, host: str) -> None:
    """Anyone who reaches the port can hold sessions and spend the models' CPU: beyond loopback the
    engine insists on a key."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and settings.engine_api_key is None:
        raise ConfigError(f"the engine would listen on {host} without a key: set VOICEBOT_ENGINE_API_KEY "
                          "(clients send it as api-key or Authorization: Bearer), or listen on 127.0.0.1")  # fmt: skip


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """wss:// when a certificate is configured: TLS 1.2 or later."""
    if not settings.engine_tls_cert:
        return None
    if not settings.engine_tls_key:
        raise ConfigError("VOICEBOT_ENGINE_TLS_CERT is set without VOICEBOT_ENGINE_TLS_KEY")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.engine_tls_cert, settings.engine_tls_key)
    return context


async def _until_called(work: Coroutine[Any, Any, object]) -> bool:
    """`work`, given up the moment a takeover (SIGUSR1) is pending: a standby preparing is never late
    to take over. True if it finished."""
    task = asyncio.ensure_future(work)
    while not task.done():
        if signal.SIGUSR1 in signal.sigpending():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return False
        await asyncio.wait([task], timeout=0.05)
    task.result()
    return True


def serve(settings: Settings, host: str, port: int, *, standby: bool = False) -> None:
    """Load the models and serve. `standby`: a loaded spare that listens only once it gets SIGUSR1
    (the supervisor's, when the engine it stands in for dies): the port is back in a fraction of a
    second instead of a process start and model loads."""
    if standby:  # (blocked from before exec when the supervisor starts it: here for anyone else)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    require_key_beyond_loopback(settings, host)
    context = tls_context(settings)
    runtime = EngineRuntime.load(settings)
    if standby:  # (time a spare has: its first turns pay nothing)
        runtime.warm_recogniser()
        log.info("engine loaded; standing by")
        prepared: list[dict[str, object]] = []
        wait_s = 0.0  # (a first look at once, then every STANDBY_LOOK_S)
        while signal.sigtimedwait({signal.SIGUSR1}, wait_s) is None:
            wait_s = STANDBY_LOOK_S
            # The calls' session configurations as the engine records them: new ones prepared too.
            if (found := runtime.warm_sessions.read()) != prepared:
                done = asyncio.run(_until_called(runtime.prepare_remembered()))
                runtime.forget_loop()  # (what it made there was bound to that loop)
                prepared = found
                log.info("standby: %d session configurations prepared%s", len(found), "" if done else " (in part)")
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
    log.info("engine listening on %s://%s:%d/v1/realtime", "wss" if context else "ws", host, port)
    web.run_app(create_app(runtime), host=host, port=port, print=None, ssl_context=context)
