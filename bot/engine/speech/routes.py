"""The engine as an offline Azure Speech container: the WebSocket paths the Speech SDK opens when
``SpeechConfig(host="ws://HOST:PORT")`` points at us, on the engine's own listener.

- ``/speech/recognition/{interactive|conversation|dictation}/cognitiveservices/v1`` → speech to text
  (bot/engine/speech/recognition.py)
- ``/cognitiveservices/websocket/v1`` → text to speech (bot/engine/speech/synthesis.py)

The key, when the engine has one, comes as ``Ocp-Apim-Subscription-Key`` (the SDK's subscription) or
``Authorization: Bearer``; sessions count against the same per-client admission as Realtime sessions.
A message that is not USP ends the connection with the reason, which the SDK reports as a
cancellation with that text.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import WSCloseCode, WSMsgType, web

from bot.call_metrics import ENGINE_REFUSED
from bot.engine.admission import Admission
from bot.engine.runtime import EngineRuntime
from bot.engine.speech import usp
from bot.engine.speech.aligned_voice import AlignedSpeech
from bot.engine.speech.recognition import RecognitionSession
from bot.engine.speech.synthesis import SynthesisSession
from bot.realtime.recognition_hints import Hints

log = logging.getLogger(__name__)

RECOGNITION_PATH = "/speech/recognition/{mode}/cognitiveservices/v1"
SYNTHESIS_PATH = "/cognitiveservices/websocket/v1"
SendText = Callable[[str], Awaitable[None]]
SendBytes = Callable[[bytes], Awaitable[None]]
MAX_MESSAGE_BYTES = 1 << 20  # audio comes in chunks of a few KB; SSML of a long reply is tens of KB


def authorised(request: web.Request, key: str | None) -> bool:
    if key is None:
        return True
    given = request.headers.get("Ocp-Apim-Subscription-Key", "")
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        given = given or auth[7:].strip()
    return hmac.compare_digest(given.encode(), key.encode())


def language_refusal(language: str) -> str | None:
    """The offline recogniser and voice are English ones: another language is refused by name."""
    if language.lower().split("-")[0] == "en":
        return None
    return f"language {language!r} is not available here: the offline speech models are English (en-US) only"


async def serve_usp(
    request: web.Request,
    on_text: Callable[[usp.Message], Awaitable[None]],
    on_binary: Callable[[usp.Message], Awaitable[None]],
    ws: web.WebSocketResponse,
) -> None:
    """Feed one connection's messages to a session until it closes; a protocol error closes it with
    its reason (the SDK reports that text)."""
    async for msg in ws:
        try:
            if msg.type == WSMsgType.TEXT:
                await on_text(usp.parse_text(msg.data))
            elif msg.type == WSMsgType.BINARY:
                await on_binary(usp.parse_binary(msg.data))
            elif msg.type == WSMsgType.ERROR:
                break
        except usp.UspError as exc:
            log.warning("speech connection from %s: %s", request.remote, exc)
            await ws.close(code=WSCloseCode.PROTOCOL_ERROR, message=str(exc)[:120].encode())
            break
        except ConnectionResetError:
            break


def websocket(request: web.Request) -> web.WebSocketResponse:
    # (the SDK asks for the "USP" subprotocol; the service answers it)
    return web.WebSocketResponse(protocols=("USP",), max_msg_size=MAX_MESSAGE_BYTES, heartbeat=30)


class SpeechRoutes:
    """The container paths on the engine's app, over its runtime and admission."""

    def __init__(self, runtime: EngineRuntime, admission: Admission) -> None:
        self.runtime = runtime
        self.admission = admission
        self._open: set[web.WebSocketResponse] = set()  # (an SDK keeps its connection between requests)

    def add_to(self, app: web.Application) -> None:
        app.router.add_get(RECOGNITION_PATH, self.recognition)
        app.router.add_get(SYNTHESIS_PATH, self.synthesis)
        app.on_shutdown.append(self._close_all)

    async def _close_all(self, app: web.Application) -> None:
        """The engine is stopping: every SDK connection is told so (1001), not waited on until the
        server's shutdown timeout (an idle synthesiser's connection would hold it for a minute)."""
        closing = [ws.close(code=WSCloseCode.GOING_AWAY, message=b"the engine is shutting down") for ws in self._open]
        await asyncio.gather(*closing, return_exceptions=True)

    async def _speak(self, sentence: str, rate: float, volume: float, pitch: float) -> AlignedSpeech:
        return await self.runtime.speak_aligned(sentence, rate, volume, pitch)

    async def _transcribe(self, pcm: bytes, phrases: tuple[str, ...], language: str) -> str:
        return await self.runtime.pool.run("asr", self.runtime.transcribe, pcm, Hints(phrases))

    def _refused(self, request: web.Request) -> web.Response | None:
        key = self.runtime.settings.engine_api_key
        if not authorised(request, key.get_secret_value() if key is not None else None):
            ENGINE_REFUSED.inc()
            return web.json_response({"error": {"code": "Unauthorized", "message": "missing or wrong key "
                                      "(send Ocp-Apim-Subscription-Key or Authorization: Bearer)"}}, status=401)  # fmt: skip
        return None

    async def recognition(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        if (wrong := language_refusal(query.get("language", "en-US"))) is not None:
            return web.json_response({"error": {"code": "UnsupportedLanguage", "message": wrong}}, status=400)

        def session(send_text: SendText, send_bytes: SendBytes) -> RecognitionSession:
            return RecognitionSession(send_text, self._transcribe, request.match_info["mode"], query)

        return await self._serve(request, "recognition", session)

    async def synthesis(self, request: web.Request) -> web.StreamResponse:
        def session(send_text: SendText, send_bytes: SendBytes) -> SynthesisSession:
            return SynthesisSession(send_text, send_bytes, self._speak, self.runtime.voices.default.sample_rate)

        return await self._serve(request, "synthesis", session)

    async def _serve(self, request: web.Request, kind: str,
                     make: Callable[[SendText, SendBytes], RecognitionSession | SynthesisSession]) -> web.StreamResponse:  # fmt: skip
        if (refused := self._refused(request)) is not None:
            return refused
        client = request.remote or "unknown"
        if (busy := self.admission.admit(client)) is not None:
            ENGINE_REFUSED.inc()
            return web.json_response({"error": {"code": "TooManyRequests", "message": busy}}, status=429)
        ws = websocket(request)
        try:
            self._open.add(ws)
            await ws.prepare(request)

            async def send_text(text: str) -> None:
                if not ws.closed:
                    await ws.send_str(text)

            async def send_bytes(data: bytes) -> None:
                if not ws.closed:
                    await ws.send_bytes(data)

            session = make(send_text, send_bytes)
            log.info("speech %s opened for %s (%s)", kind, client, request.path)
            await serve_usp(request, session.on_text, session.on_binary, ws)
            return ws
        finally:
            self._open.discard(ws)
            self.admission.leave(client)
