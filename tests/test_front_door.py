"""The front door (Kamailio's dispatcher over the workers) with refusals that hold for the whole
service: they reach the caller at once, and no worker is marked down for them."""

from __future__ import annotations

from pathlib import Path

from sip.probe import options_reply
from tests.sipp import call_once, render
from tests.stack import Stack, free_port, running_stack


async def test_an_engine_outage_is_passed_to_the_caller_not_tried_on_every_worker(tmp_path: Path) -> None:
    """Each worker refuses with 503 + Retry-After when the engine is down. Kamailio once took that as
    the worker's own failure: it marked the worker down and tried the next, so one outage cost each
    call a try per worker and left no worker in the dispatcher ("No Worker Available")."""
    dead_engine = f"ws://127.0.0.1:{free_port()}/v1/realtime"
    async with running_stack(tmp_path, workers=2, VOICEBOT_REALTIME_KIND="openai", VOICEBOT_REALTIME_URL=dead_engine,
                             VOICEBOT_REALTIME_API_KEY="sk-test") as stack:  # fmt: skip
        scenario = render("uac_refused_retry_later.xml", tmp_path / "refused.xml", CODE=503)
        for _ in range(3):  # more calls than workers: a marked-down worker would show
            result = await call_once(scenario, stack.sip_port, tmp_path)
            assert result.returncode == 0 and result.successful == 1, result.stderr
        log = (tmp_path / "stack.log").read_text(errors="replace").splitlines()
        tries = sum(1 for line in log if ": call " in line and "unreachable" in line)  # (not the fallback lines' fetch)
    assert tries == 3, f"{tries} engine connection attempts for 3 calls: the front door tried other workers"


async def test_the_front_door_names_no_product_or_version(stack: Stack) -> None:
    reply = await options_reply("127.0.0.1", stack.sip_port, 2.0)
    assert reply is not None and reply.startswith(b"SIP/2.0 200")
    headers = reply.decode(errors="replace").lower()
    assert "server: voicebot\r\n" in headers and "kamailio" not in headers, headers
