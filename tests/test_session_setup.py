"""What the edge asks each engine kind for: the session.update as the engine's own reader takes it,
and the handshake headers. The kinds differ only by their declared `Capabilities`."""

from __future__ import annotations

import pytest

from bot.edge.config import BotConfig, TurnConfig
from bot.edge.engine_link import ENGINES, Kind, RealtimeTarget
from bot.edge.session_setup import session_update
from bot.realtime.dialect import Dialect
from bot.realtime.session_config import SessionConfig

TOOL = {"type": "function", "name": "get_order_status", "description": "Where is my order",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}}}  # fmt: skip


@pytest.mark.parametrize(("kind", "semantic", "noise"), [
    ("local", "semantic_vad", "near_field"),
    ("openai", "semantic_vad", "near_field"),
    ("azure", "azure_semantic_vad", "azure_deep_noise_suppression"),
])  # fmt: skip
def test_each_engine_kind_gets_g711_its_turn_detection_and_no_engine_replies(
    kind: Kind, semantic: str, noise: str
) -> None:
    caps = ENGINES[kind]
    bot = BotConfig(instructions="You are the Acme Telecom assistant.", voice="alloy")
    update = session_update(caps, bot, [TOOL])
    read = SessionConfig().updated(update.session, Dialect.from_session_update(update.session, Dialect.BETA))
    assert read.input_format.encoding == read.output_format.encoding == "g711_ulaw"
    assert read.instructions == bot.instructions and read.tools == (TOOL,) and read.voice == "alloy"
    td = read.turn_detection
    assert td is not None and td.type == semantic and td.eagerness == "high"
    assert not td.create_response and not td.interrupt_response  # the edge owns barge-in and asks for replies
    assert read.noise_reduction == {"type": noise} and read.transcription == {"model": "whisper-1"}
    assert ("audio" in update.session) is (caps.dialect is Dialect.GA)  # each in its own dialect's shape


def test_server_vad_and_engine_owned_interruption() -> None:
    turns = TurnConfig(kind="server_vad", silence_ms=700, edge_interruption=False, noise_reduction=False)
    update = session_update(ENGINES["local"], BotConfig(instructions="Hi.", turns=turns), [])
    read = SessionConfig().updated(update.session, Dialect.BETA)
    td = read.turn_detection
    assert td is not None and td.type == "server_vad" and td.silence_duration_ms == 700
    assert td.create_response and td.interrupt_response  # the engine replies and interrupts on its own
    assert read.noise_reduction is None


def test_handshake_headers_follow_the_declared_auth() -> None:
    assert RealtimeTarget("wss://x", "azure", "k").headers() == {"api-key": "k"}
    assert RealtimeTarget("wss://x", "openai", "k").headers() == {"Authorization": "Bearer k"}
    assert RealtimeTarget("ws://x", "local").headers() == {"OpenAI-Beta": "realtime=v1"}
