"""Cancel, truncate, and bad input: the session answers, cleans up, and keeps working."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import aiohttp
import pytest

from bot.engine.runtime import EngineRuntime
from bot.engine.server import require_key_beyond_loopback
from bot.errors import ConfigError
from bot.settings import Settings
from tests.client import RawClient, audio_of, types
from tests.engine_setup import connect, serve_engine


def long_text() -> str:
    """Six sentences never said before: the engine's TTS cache must not make the reply instant."""
    n = random.randrange(100, 999)
    return (
        f"Thank you for calling, case {n}. This is the first sentence of a long answer. Here is the second "
        f"sentence, number {n + 1}. And a third one follows it. Then comes sentence {n + 4}. The fifth sentence ends it."
    )


LONG = long_text()  # length reference only


async def say(client: RawClient, text: str) -> None:
    await client.send({"type": "response.create", "response": {"instructions": f'Say "{text}"'}})


async def test_cancel_stops_audio_and_ends_cancelled(beta: RawClient) -> None:
    text = long_text()
    await say(beta, text)
    events = await beta.until("response.audio.delta")
    await beta.send({"type": "response.cancel", "event_id": "cancel-1"})
    events += await beta.until("response.done")
    done = events[-1]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"]["reason"] == "client_cancelled"
    item = done["output"][0]
    assert item["status"] == "incomplete"
    spoken = item["content"][0]["transcript"]
    assert spoken and len(spoken) < len(text) / 2, spoken  # stopped early, not after the whole answer
    names = types(events)
    assert names.index("response.audio.done") < names.index("response.done")
    # Nothing of that response arrives after response.done: the next event answers the next request.
    await beta.send({"type": "input_audio_buffer.clear"})
    assert (await beta.recv())["type"] == "input_audio_buffer.cleared"


async def test_cancel_without_response_is_an_error(beta: RawClient) -> None:
    await beta.send({"type": "response.cancel", "event_id": "c0"})
    error = (await beta.until("error"))[-1]["error"]
    assert error["code"] == "response_cancel_not_active" and error["event_id"] == "c0"


async def test_truncate_cuts_unheard_transcript(beta: RawClient) -> None:
    await say(beta, long_text())
    events = await beta.until("response.done")
    item = events[-1]["response"]["output"][0]
    total_ms = len(audio_of(events, "pcm16")) / 48  # 24 kHz pcm16: 48 bytes per ms
    assert total_ms > 5000
    await beta.send({"type": "conversation.item.truncate", "item_id": item["id"], "content_index": 0,
                     "audio_end_ms": 2500})  # fmt: skip
    truncated = (await beta.until("conversation.item.truncated"))[-1]
    assert truncated["item_id"] == item["id"] and truncated["audio_end_ms"] == 2500
    await beta.send({"type": "conversation.item.retrieve", "item_id": item["id"]})
    kept = (await beta.until("conversation.item.retrieved"))[-1]["item"]["content"][0]["transcript"]
    assert kept.startswith("Thank you for calling") and "fifth" not in kept
    assert len(kept) < len(LONG) / 2, kept

    await beta.send({"type": "conversation.item.truncate", "item_id": item["id"], "content_index": 0,
                     "audio_end_ms": 10**7, "event_id": "t2"})  # fmt: skip
    error = (await beta.until("error"))[-1]["error"]
    assert error["param"] == "audio_end_ms" and error["event_id"] == "t2"


async def test_truncate_during_response_stops_it(beta: RawClient) -> None:
    await say(beta, long_text())
    events = await beta.until("response.audio.delta")
    item_id = events[-1]["item_id"]
    await beta.send({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 0})
    events = await beta.until("conversation.item.truncated")
    done = next(e for e in events if e["type"] == "response.done")
    assert done["response"]["status"] == "cancelled"


BAD_EVENTS: list[tuple[str, str, str | None]] = [
    ("{not json", "invalid_json", None),
    ("[1, 2]", "invalid_json", None),
    ('{"type": "no.such.event", "event_id": "e1"}', "invalid_value", "e1"),
    ('{"event_id": "e2"}', "missing_required_parameter", "e2"),
    ('{"type": "input_audio_buffer.append", "audio": "%%%", "event_id": "e3"}', "invalid_value", "e3"),
    ('{"type": "input_audio_buffer.append", "audio": 12, "event_id": "e4"}', "invalid_value", "e4"),
    ('{"type": "conversation.item.truncate", "item_id": "x", "content_index": 0, "audio_end_ms": "soon", '
     '"event_id": "e5"}', "invalid_type", "e5"),
    ('{"type": "session.update", "session": {"input_audio_format": "mp3"}, "event_id": "e6"}', "invalid_value", "e6"),
    ('{"type": "session.update", "session": {"turn_detection": {"type": "server_vad", "threshold": 7}}, '
     '"event_id": "e7"}', "invalid_value", "e7"),
    ('{"type": "conversation.item.create", "item": {"type": "bogus"}, "event_id": "e8"}', "invalid_value", "e8"),
    ('{"type": "conversation.item.delete", "item_id": "item_missing", "event_id": "e9"}', "item_not_found", "e9"),
    ('{"type": "input_audio_buffer.commit", "event_id": "e10"}', "input_audio_buffer_commit_empty", "e10"),
    ('{"type": "session.update", "session": {"tools": "all"}, "event_id": "e11"}', "invalid_type", "e11"),
    ('{"type": "conversation.item.create", "previous_item_id": "nope", "item": {"type": "message", "role": "user", '
     '"content": [{"type": "input_text", "text": "hi"}]}, "event_id": "e12"}', "item_not_found", "e12"),
]  # fmt: skip


async def test_each_malformed_event_gets_an_error_and_the_session_survives(beta: RawClient) -> None:
    for raw, code, event_id in BAD_EVENTS:
        await beta.send_raw(raw)
        event = await beta.recv()
        assert event["type"] == "error", raw
        assert event["error"]["code"] == code, (raw, event)
        assert event["error"]["event_id"] == event_id, raw
        assert event["error"]["message"]
    await beta.ws.send_bytes(b"\x00\x01")
    assert (await beta.recv())["error"]["code"] == "invalid_json"
    # Still a working session.
    await say(beta, "Still here.")
    events = await beta.until("response.done")
    assert events[-1]["response"]["status"] == "completed"


HOSTILE_EVENTS = [
    ('{"type": "' + "session.update" * 20_000 + '", "event_id": "h1"}', "invalid_value", "h1"),
    ('{"type": "conversation.item.retrieve", "item_id": "nope", "event_id": "' + "e" * 100_000 + '"}',
     "item_not_found", None),
    ('{"type": "session.update", "session": {"tools": ' + "[" * 5000 + "]" * 5000 + '}, "event_id": "h3"}',
     "invalid_json", None),  # too deep for the JSON parser itself: no event_id can be read
    ('{"type": "session.update", "session": {"instructions": "hi", "tools": [' + '{"a": ' * 60 + "1" + "}" * 60
     + ']}, "event_id": "h4"}', "invalid_json", "h4"),
    ('{"type": "conversation.item.create", "item": {"type": "message", "role": "\\ud800", "content": []}, '
     '"event_id": "h5"}', "invalid_value", "h5"),  # (a lone surrogate is U+FFFD: not a role)
    ('{"type": "session.update", "session": {"tools": [{"type": "function", "name": "pay", "parameters": '
     '{"type": "object", "properties": {"amount": {"type": 7}}}}]}, "event_id": "h6"}', "invalid_type", "h6"),
    ('{"type": "session.update", "session": {"tools": [{"name": "pay", "parameters": {"required": "amount"}}]}, '
     '"event_id": "h7"}', "invalid_type", "h7"),
]  # fmt: skip


async def test_hostile_events_get_short_errors_and_the_session_goes_on(beta: RawClient) -> None:
    """Nothing the client sends is echoed back at length; nesting and odd text are named errors."""
    for raw, code, event_id in HOSTILE_EVENTS:
        await beta.send_raw(raw)
        msg = await beta.ws.receive(timeout=30)
        assert len(msg.data) < 4096, (raw[:80], len(msg.data))
        error = json.loads(msg.data)["error"]
        assert error["code"] == code, (raw[:80], error)
        if event_id is not None:
            assert error["event_id"] == event_id
        assert "internal error" not in error["message"]
    # A lone surrogate in a caller's text reaches the brain as U+FFFD, not as a tokenizer crash.
    text = {"type": "input_text", "text": "where is my order \\ud800 please"}
    await beta.send_raw(json.dumps({"type": "conversation.item.create",
                                    "item": {"type": "message", "role": "user", "content": [text]}}).replace("\\\\", "\\"))  # fmt: skip
    await beta.send({"type": "response.create"})
    events = await beta.until("response.done")
    assert events[-1]["response"]["status"] == "completed", events[-1]
    await say(beta, "Still here.")
    events = await beta.until("response.done")
    assert events[-1]["response"]["status"] == "completed"


async def test_second_response_create_while_active_is_refused(beta: RawClient) -> None:
    await say(beta, long_text())
    await beta.until("response.created")
    await beta.send({"type": "response.create", "event_id": "r2"})
    events = await beta.until("response.done")
    errors = [e for e in events if e["type"] == "error"]
    assert errors and errors[0]["error"]["code"] == "conversation_already_has_active_response"
    assert events[-1]["response"]["status"] == "completed"


async def test_oversize_event_is_refused_without_closing(runtime: EngineRuntime) -> None:
    async with serve_engine(runtime, engine_max_event_bytes=4096) as url, connect(url) as client:
        await client.send({"type": "input_audio_buffer.append", "audio": "A" * 6000, "event_id": "big"})
        error = (await client.until("error"))[-1]["error"]
        assert error["code"] == "message_too_large"
        await client.send({"type": "input_audio_buffer.clear"})
        assert (await client.recv())["type"] == "input_audio_buffer.cleared"


async def test_api_key_is_required_when_configured(runtime: EngineRuntime) -> None:
    async with serve_engine(runtime, engine_api_key="s3cret") as url, aiohttp.ClientSession() as http:
        async with http.get(f"{url}/v1/realtime", headers={"Upgrade": "websocket", "Connection": "Upgrade"}) as r:
            assert r.status == 401
            assert (await r.json())["error"]["code"] == "invalid_api_key"
        for headers in ({"api-key": "s3cret"}, {"Authorization": "Bearer s3cret"}):
            async with http.ws_connect(f"{url}/voice-live/realtime", headers=headers) as ws:
                assert (await ws.receive_json())["type"] == "session.created"


async def test_over_capacity_is_a_clear_503(runtime: EngineRuntime) -> None:
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade"}
    async with serve_engine(runtime, engine_max_sessions=1) as url, connect(url), aiohttp.ClientSession() as http:
        response = await http.get(f"{url}/v1/realtime", headers=upgrade)
        assert response.status == 503
        assert (await response.json())["error"]["code"] == "server_busy"


async def test_user_audio_item_is_transcribed(beta: RawClient) -> None:
    from tests.audio import phone_pcm

    await beta.send({"type": "session.update", "session": {"input_audio_transcription": {"model": "whisper-1"}}})
    await beta.until("session.updated")
    audio = base64.b64encode(phone_pcm("Where is my order?", 24000)).decode()
    await beta.send({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_audio", "audio": audio}]}})  # fmt: skip
    done = (await beta.until("conversation.item.input_audio_transcription.completed"))[-1]
    assert "order" in done["transcript"].lower()
    await beta.send({"type": "conversation.item.create", "event_id": "bad-audio", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_audio", "audio": "%%%"}]}})  # fmt: skip
    error = (await beta.until("error"))[-1]["error"]
    assert error["event_id"] == "bad-audio" and error["param"] == "item.content"


@pytest.mark.parametrize(("host", "key", "allowed"), [
    ("127.0.0.1", None, True), ("::1", None, True), ("localhost", None, True),
    ("0.0.0.0", None, False), ("10.1.2.3", None, False), ("0.0.0.0", "k3y", True),
])  # fmt: skip
def test_the_engine_needs_a_key_to_listen_beyond_loopback(host: str, key: str | None, allowed: bool) -> None:
    settings = Settings(_env_file=None, engine_api_key=key)
    if allowed:
        require_key_beyond_loopback(settings, host)
    else:
        with pytest.raises(ConfigError, match="VOICEBOT_ENGINE_API_KEY"):
            require_key_beyond_loopback(settings, host)


async def test_other_clients_cannot_take_the_sessions_kept_for_calls(runtime: EngineRuntime) -> None:
    """Idle connections from one client once made every call fail. Now one address holds at most
    engine_max_sessions_per_client sessions, all other clients together what engine_reserved_for_edge
    leaves, and the edge (its key) can still open sessions up to the engine's whole capacity."""
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade"}
    edge_key = {"Authorization": "Bearer edge-k3y"}
    limits = {"engine_max_sessions": 6, "engine_reserved_for_edge": 3, "engine_max_sessions_per_client": 2,
              "engine_edge_key": "edge-k3y"}  # fmt: skip
    other = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with serve_engine(runtime, **limits) as url, aiohttp.ClientSession() as http, \
            aiohttp.ClientSession(connector=other) as elsewhere:  # fmt: skip

        async def refused(session: aiohttp.ClientSession, headers: dict[str, str]) -> str:
            async with session.get(f"{url}/v1/realtime", headers={**upgrade, **headers}) as r:
                assert r.status == 503
                return str((await r.json())["error"]["message"])

        held = [await http.ws_connect(f"{url}/v1/realtime") for _ in range(2)]
        assert "per client" in await refused(http, {})
        held.append(await elsewhere.ws_connect(f"{url}/v1/realtime"))  # another address: the 3rd non-edge
        assert "kept for phone calls" in await refused(elsewhere, {})
        edge = [await http.ws_connect(f"{url}/v1/realtime", headers=edge_key) for _ in range(3)]
        for ws in [*held, *edge]:
            assert (await ws.receive_json())["type"] == "session.created"
        assert "capacity" in await refused(http, edge_key)
        await edge.pop().close()
        for _ in range(50):  # (until the server has seen the close)
            async with http.get(f"{url}/health") as health:
                if (await health.json())["sessions"] == 5:
                    break
        edge.append(await http.ws_connect(f"{url}/v1/realtime", headers=edge_key))  # that call's slot is back
        assert (await edge[-1].receive_json())["type"] == "session.created"
        for ws in [*held, *edge]:
            await ws.close()


async def test_with_a_certificate_the_engine_is_wss_only_and_the_edge_trusts_its_ca(runtime: EngineRuntime,
                                                                                    tmp_path: Path) -> None:  # fmt: skip
    from bot.edge.engine_link import EngineUnavailable, RealtimeTarget, open_websocket
    from bot.front_door import self_signed

    cert, key = self_signed(tmp_path, "127.0.0.1")
    async with serve_engine(runtime, engine_tls_cert=str(cert), engine_tls_key=str(key)) as url:
        wss = url.replace("https://", "wss://") + "/v1/realtime"
        conn = await open_websocket(RealtimeTarget(wss, ca_file=str(cert)))  # the edge's own way in
        events = conn.events()
        assert (await anext(events))["type"] == "session.created"
        await conn.close()
        with pytest.raises(EngineUnavailable, match=r"(?i)certificate"):
            await open_websocket(RealtimeTarget(wss))  # the system's CAs do not know it
        with pytest.raises(EngineUnavailable):
            await open_websocket(RealtimeTarget(wss.replace("wss://", "ws://")))  # no plain text on that port
