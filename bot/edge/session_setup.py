"""The session.update a phone call starts with, in the engine's dialect."""

from __future__ import annotations

from typing import Any

from bot.audio.formats import AudioFormat
from bot.edge.config import BotConfig
from bot.edge.engine_link import Capabilities
from bot.realtime.client_events import SessionUpdate
from bot.realtime.session_config import SessionConfig

G711_ULAW = AudioFormat("g711_ulaw", 8000)


def session_update(caps: Capabilities, bot: BotConfig, tools: list[dict[str, Any]]) -> SessionUpdate:
    """G.711 both ways (no rate change at the edge), turn detection as `bot.turns` says, input
    transcription for the call record, line-noise suppression where the engine has it."""
    turns = bot.turns
    noise = {"type": caps.noise_reduction} if turns.noise_reduction and caps.noise_reduction else None
    config = SessionConfig(instructions=bot.instructions, voice=bot.voice, input_format=G711_ULAW,
                           output_format=G711_ULAW, transcription={"model": "whisper-1"},
                           turn_detection=turns.detection(caps), tools=tuple(tools), noise_reduction=noise)  # fmt: skip
    return SessionUpdate(type="session.update", session=config.to_update(caps.dialect))
