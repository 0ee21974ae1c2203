"""Lines spoken by the engine outside any conversation: one engine session of its own, each text
said as it is (bot/realtime/say.py), its audio kept as 8 kHz PCM. The edge uses it for what it
plays itself: the fallback lines (bot/edge/fallback_audio.py), an agent's transfer summary."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Awaitable, Callable, Sequence

from bot.audio import g711
from bot.edge.config import BotConfig
from bot.edge.engine_link import EngineUnavailable, RealtimeConnection, RealtimeTarget, open_websocket
from bot.edge.session_setup import session_update

Connect = Callable[[RealtimeTarget], Awaitable[RealtimeConnection]]


async def spoken(target: RealtimeTarget, bot: BotConfig, texts: Sequence[str],
                 connect: Connect = open_websocket) -> list[bytes]:  # fmt: skip
    """Each of `texts` in the bot's voice, in order. Raises ConnectionError (EngineUnavailable) if
    the engine cannot be reached or closes the session first."""
    conn = await connect(target)
    pump = asyncio.ensure_future(conn.pump())
    try:
        conn.update_session(session_update(conn.capabilities, bot, []))
        out: list[bytes] = []
        events = conn.events()
        for text in texts:
            conn.say(text)
            audio = bytearray()
            async for event in events:
                if event["type"] == "response.audio.delta":
                    audio += g711.ulaw_to_pcm16(base64.b64decode(event["delta"]))
                elif event["type"] == "response.done":
                    break
            else:
                raise EngineUnavailable("the engine closed the session before it had spoken")
            out.append(bytes(audio))
        return out
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await pump
        await conn.close()
