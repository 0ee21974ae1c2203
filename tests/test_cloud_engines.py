"""The edge on a cloud engine (VOICEBOT_REALTIME_KIND=openai / azure): a real call through the stack,
the edge's every client event checked by a stand-in for the service against its published types
(tests/cloud_standin.py) and answered by our engine behind it. What the edge sends is in each
service's own shape: GA's nested `session.audio`, Voice Live's flat fields and `azure_*` types."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cloud_standin import Kind, cloud_standin
from tests.stack import report_of, running_stack, softphone


@pytest.mark.parametrize("kind", ["openai", "azure"])
async def test_a_call_on_a_cloud_engine_sends_only_what_the_service_documents(
    kind: Kind, engine_url: str, tmp_path: Path
) -> None:
    async with cloud_standin(kind) as cloud:
        cloud.upstream = engine_url
        async with running_stack(tmp_path, workers=1, VOICEBOT_REALTIME_KIND=kind, VOICEBOT_REALTIME_URL=cloud.url,
                                 VOICEBOT_REALTIME_API_KEY=cloud.api_key) as stack:  # fmt: skip
            code, out = await softphone(stack.uri, "Hi, um, what time do you open on Saturdays?",
                                        "Okay, great, thanks. Bye!", caller="+15550142")  # fmt: skip
    assert code == 0, out
    assert cloud.violations == [], cloud.violations
    kinds = [e["type"] for e in cloud.received]
    assert "session.update" in kinds and "response.create" in kinds, kinds
    session = next(e for e in cloud.received if e["type"] == "session.update")["session"]
    if kind == "openai":
        assert session["type"] == "realtime" and session["audio"]["input"]["format"]["type"] == "audio/pcmu", session
    else:
        assert session["input_audio_format"] == "g711_ulaw", session
        assert session["turn_detection"]["type"] == "azure_semantic_vad", session
        assert session["input_audio_noise_reduction"]["type"] == "azure_deep_noise_suppression", session
    report = report_of(out)
    assert report["greeting"] and report["bot"][0], out  # greeted, and the question answered
