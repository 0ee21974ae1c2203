"""The front door (Kamailio's dispatcher over the workers): refusals that hold for the whole service
reach the caller at once (no worker is marked down for them); SIP over TLS with SRTP media; only our
numbers answered; a source that is not a trunk cannot take every line."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from sip.probe import options_reply
from tests.sipp import SippResult, call_once, render, run_sipp, silence_file
from tests.stack import Stack, call_of, free_port, report_of, running_stack, softphone


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


async def test_an_untrusted_address_gets_two_lines_at_most_and_others_still_get_through(stack: Stack,
                                                                                      tmp_path: Path) -> None:  # fmt: skip
    """Only the trunk (127.0.0.1 here) is trusted: any other address holds at most
    VOICEBOT_SOURCE_MAX_CALLS (2) calls at once; its third gets 486 while another address is answered."""

    async def sipp(name: str, source: str, **values: object) -> int:
        work = tmp_path / name
        work.mkdir()
        scenario = render(values.pop("scenario"), work / "s.xml", **values)  # type: ignore[arg-type]
        result = await run_sipp(scenario, f"127.0.0.1:{stack.sip_port}", calls=1, concurrency=1, rate=1, workdir=work,
                                media_port=random.randrange(40000, 49000, 2), timeout_s=20, local_ip=source)  # fmt: skip
        return result.successful

    silence = silence_file(tmp_path / "silence.ul")
    holding = [asyncio.ensure_future(sipp(f"hold{i}", "127.0.0.2", scenario="uac_listen.xml", WAV=silence,
                                          HOLD_MS=6000)) for i in range(2)]  # fmt: skip
    await asyncio.sleep(2.5)  # both answered and up
    assert await sipp("third", "127.0.0.2", scenario="uac_refused.xml", CODE=486) == 1
    assert await sipp("other", "127.0.0.3", scenario="uac_listen.xml", WAV=silence, HOLD_MS=1000) == 1
    assert await asyncio.gather(*holding) == [1, 1]


async def test_a_call_over_tls_with_srtp_media_holds_a_turn(stack: Stack) -> None:
    """SIP over TLS to the front door, SRTP only (RTP/SAVP, SDES keys): rtpengine takes the SRTP and
    the worker hears plain RTP; the caller is answered in its own words. Plain RTP callers (every
    other test) keep their direct media path."""
    code, out = await softphone(stack.tls_uri, "Hi, um, what time do you open tomorrow?", srtp=True)
    assert code == 0, out
    report = report_of(out)
    assert report["srtp"] is True, out  # pjsua's own account of the media: SRTP active
    assert report["latency_ms"][0] is not None, out
    _, lines = await call_of(stack, report["call_id"])
    said = [line["text"].lower() for line in lines if line["role"] == "caller"]
    assert any("open" in s for s in said), said


async def test_a_number_that_is_not_ours_is_refused_at_the_front_door(stack: Stack, tmp_path: Path) -> None:
    """Only the configured DIDs (VOICEBOT_DIDS, here the default "bot") are answered: any other user
    part gets 404 from Kamailio, so a scanner finds no extensions and no worker is bothered."""
    scenario = render("uac_refused.xml", tmp_path / "refused.xml", CODE=404)
    scenario.write_text(scenario.read_text().replace("sip:bot@", "sip:1001@"))
    result = await call_once(scenario, stack.sip_port, tmp_path)
    assert result.successful == 1, result.stderr


async def test_a_caller_that_is_not_a_trunk_must_give_a_sip_accounts_password(stack: Stack, tmp_path: Path) -> None:
    """With SIP accounts configured, a source that is not a trusted trunk is challenged (407): no
    credentials or a wrong password and no call reaches a worker; the right one and it is answered.
    (A second stack beside the shared one: its own media proxy takes SRTP too.)"""
    from redis.asyncio import Redis

    (tmp_path / "stack").mkdir()
    async with running_stack(tmp_path / "stack", 2, VOICEBOT_SIP_USERS="alice:correct-horse-9") as own:
        silence = silence_file(tmp_path / "silence.ul")

        async def call(name: str, scenario: str, **values: object) -> SippResult:
            work = tmp_path / name
            work.mkdir()
            rendered = render(scenario, work / "s.xml", WAV=silence, HOLD_MS=1500, **values)
            return await run_sipp(rendered, f"127.0.0.1:{own.sip_port}", calls=1, concurrency=1, rate=1, workdir=work,
                                  media_port=random.randrange(40000, 49000, 2), timeout_s=8, local_ip="127.0.0.2")  # fmt: skip

        assert (await call("none", "uac_refused.xml", CODE=407)).successful == 1  # no credentials: challenged
        wrong = await call("wrong", "uac_auth.xml", USER="alice", PASSWORD="not-the-password")
        right = await call("right", "uac_auth.xml", USER="alice", PASSWORD="correct-horse-9")
        assert wrong.successful == 0 and right.successful == 1, (wrong.stderr, right.stderr)
        await call_of(own, right.call_id_prefix)  # answered by a worker and recorded
        redis = Redis.from_url(own.redis_url)
        try:
            assert await redis.keys(f"call:{right.call_id_prefix}*")  # (how a call is recorded)
            assert await redis.keys(f"call:{wrong.call_id_prefix}*") == []  # (challenged over and over)
        finally:
            await redis.aclose()
        assert oct((own.run_dir / "kamailio" / "kamailio.cfg").stat().st_mode & 0o777) == "0o600"
        code, out = await softphone(own.tls_uri, "Hi, uh, are you open on Sundays?", srtp=True)  # (a trunk)
        assert code == 0 and report_of(out)["srtp"] is True, out
