"""`voicebot run` keeps the service up: whichever child dies (kill -9), it is restarted and new calls
are answered again, with no manual step (bot/supervisor.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.edge.config import BotConfig
from bot.supervisor import SPARE_AFTER_S
from sip.probe import options_ping
from tests.sipp import call_ids, call_once, render, silence_file
from tests.stack import Stack, call_of, decisions, listening_pid, parent, pids, running_stack, softphone


async def answers_again(stack: Stack, tmp: Path, within_s: float) -> float:
    """Seconds until the front door answers OPTIONS and a call holds again."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while await options_ping("127.0.0.1", stack.sip_port, 0.5) != 200:
        assert loop.time() - start < within_s, "the front door did not come back"
        await asyncio.sleep(0.2)
    scenario = render("uac_listen.xml", tmp / "listen.xml", WAV=silence_file(tmp / "silence.ul"), HOLD_MS=2000)
    while (result := await call_once(scenario, stack.sip_port, tmp)).successful != 1:
        assert loop.time() - start < within_s, result.stderr
        await asyncio.sleep(0.5)
    return loop.time() - start


async def test_kamailio_and_the_engine_killed_are_restarted_and_calls_come_back(tmp_path: Path) -> None:
    async with running_stack(tmp_path, workers=2) as stack:
        kamailio = await pids(f"kamailio -DD -E -f {tmp_path}/kamailio/")
        assert len(kamailio) > 1  # the main process and its forks
        main = next(p for p in kamailio if parent(p) not in kamailio)
        await (await asyncio.create_subprocess_exec("kill", "-9", str(main))).wait()
        await asyncio.sleep(0.5)
        await answers_again(stack, tmp_path, within_s=30)
        assert not set(kamailio) & set(await pids(f"kamailio -DD -E -f {tmp_path}/kamailio/")), "old forks left"

        engine = await listening_pid(stack.engine_port)
        standby = f"voicebot engine --host 127.0.0.1 --port {stack.engine_port} --standby"
        spare = await until_running(standby)
        assert engine is not None and engine != spare
        await (await asyncio.create_subprocess_exec("kill", "-9", str(engine))).wait()
        await asyncio.sleep(0.5)
        await answers_again(stack, tmp_path, within_s=30)  # (the standby took the port: no model loading)
        assert stack.proc.returncode is None
        log = (tmp_path / "stack.log").read_text(errors="replace")
        assert "kamailio exited with -9" in log and "engine exited with -9" in log
        assert f"its standby (pid {spare}) takes over" in log
        assert await listening_pid(stack.engine_port) == spare  # (signalled while it still loaded, as here)
        await asyncio.sleep(SPARE_AFTER_S + 1.0)
        assert len(await pids(standby)) == 2  # a new standby, started once the calls were back
        metrics = await scrape(stack)
        assert metrics['voicebot_child_restarts_total{child="kamailio"}'] == 1.0
        assert metrics['voicebot_child_restarts_total{child="engine"}'] == 1.0
        assert metrics['voicebot_child_restarts_total{child="worker-1"}'] == 0.0
        assert all(metrics[f'voicebot_child_up{{child="{c}"}}'] == 1.0 for c in ("kamailio", "engine", "redis"))


async def until_running(pattern: str, within_s: float = 90.0) -> int:
    """The one process matching `pattern`, once there is one."""
    async with asyncio.timeout(within_s):
        while len(found := await pids(pattern)) != 1:  # noqa: ASYNC110 (another process: polled)
            await asyncio.sleep(0.2)
    return found[0]


async def scrape(stack: Stack) -> dict[str, float]:
    """The supervisor's /metrics, parsed with prometheus-client's own parser: {'name{labels}': value}."""
    import aiohttp
    from prometheus_client.parser import text_string_to_metric_families

    url = f"http://127.0.0.1:{stack.env['VOICEBOT_METRICS_PORT']}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        text = await r.text()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


async def test_a_call_holds_through_an_engine_restart_and_goes_on(tmp_path: Path) -> None:
    """kill -9 of the engine mid-call: the caller hears the hold line at once, the edge reconnects to
    the restarted engine, replays the conversation and the bot speaks again; the caller hangs up.
    (No standby here: the engine is started afresh and loads its models while the caller is held.)"""
    async with running_stack(tmp_path, workers=2, VOICEBOT_ENGINE_STANDBY="false") as stack:
        log = tmp_path / "stack.log"
        while log.read_text(errors="replace").count("fallback lines ready") < 2:  # noqa: ASYNC110 (a file)
            await asyncio.sleep(0.2)
        scenario = render("uac_listen.xml", tmp_path / "listen.xml", WAV=silence_file(tmp_path / "silence.ul"),
                          HOLD_MS=20_000)  # fmt: skip
        prefix = call_ids()
        sipp = asyncio.ensure_future(call_once(scenario, stack.sip_port, tmp_path, call_id_prefix=prefix))
        await call_of(stack.redis_url, prefix, until="active")
        await asyncio.sleep(3)  # into the greeting
        engine = await listening_pid(stack.engine_port)
        await (await asyncio.create_subprocess_exec("kill", "-9", str(engine))).wait()
        result = await sipp
        assert result.successful == 1, result.stderr  # the caller hung up: the bot never did
        record, lines = await call_of(stack.redis_url, prefix)
        assert record["outcome"] == "caller_hung_up"
        assert len(decisions(lines, "engine_lost")) == 1
        [back] = decisions(lines, "engine_back")
        assert int(back["lost_ms"]) < 8000 and int(back["items"]) >= 1  # (the greeting, as far as it was said)
        assert BotConfig(instructions="").engine_back in [line["text"] for line in lines if line["role"] == "bot"]


async def test_callers_of_a_worker_killed_mid_call_get_a_bye_from_the_front_door(tmp_path: Path) -> None:
    """A worker killed by SIGKILL cannot hang up; Kamailio's dialog keepalive finds it gone and sends
    the caller a BYE within seconds (no dead air); the call is recorded worker_died."""
    async with running_stack(tmp_path, workers=2) as stack:
        scenario = render("uac_awaits_bye.xml", tmp_path / "bye.xml", WAV=silence_file(tmp_path / "silence.ul"),
                          WAIT_MS=25_000)  # fmt: skip
        prefix = call_ids()
        sipp = asyncio.ensure_future(call_once(scenario, stack.sip_port, tmp_path, call_id_prefix=prefix))
        record, _ = await call_of(stack.redis_url, prefix, until="active")
        await asyncio.sleep(2)
        n = int(record["worker"].removeprefix("w"))  # (the session's shared stack has workers w1... too)
        [worker] = await pids(f"voicebot sip-worker --host 127.0.0.1 --port {stack.sip_port + n} --id w{n}$")
        await (await asyncio.create_subprocess_exec("kill", "-9", str(worker))).wait()
        killed = asyncio.get_running_loop().time()
        result = await sipp
        assert result.successful == 1, result.stderr  # the BYE came
        bye_after_s = asyncio.get_running_loop().time() - killed
        assert bye_after_s < 10, bye_after_s  # (the keepalive's bound is ~3 s; SIPp ends a moment later)
        record, _ = await call_of(stack.redis_url, prefix)
        assert record["outcome"] == "worker_died"
        await answers_again(stack, tmp_path, within_s=30)


async def test_the_private_redis_wants_its_generated_password(stack: Stack) -> None:
    """Other users of the machine reach 127.0.0.1 too: the private Redis has a password, made once and
    kept in the run directory (mode 600), never on a command line."""
    from redis.asyncio import Redis
    from redis.exceptions import AuthenticationError, ResponseError

    port = stack.env["VOICEBOT_REDIS_PORT"]
    stranger = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        with pytest.raises((AuthenticationError, ResponseError), match=r"(?i)auth"):
            await stranger.get("crm:order:45721")
    finally:
        await stranger.aclose()
    owner = Redis.from_url(stack.redis_url)
    try:
        assert await owner.exists("crm:order:45721")  # the seeded demo CRM, through the password
    finally:
        await owner.aclose()
    secret = stack.run_dir / "redis" / "password"
    assert secret.stat().st_mode & 0o077 == 0
    ps = await asyncio.create_subprocess_exec("ps", "-eo", "args", stdout=asyncio.subprocess.PIPE)
    out, _ = await ps.communicate()
    assert secret.read_text().strip() not in out.decode()


async def test_with_an_engine_certificate_the_workers_talk_to_it_over_wss(tmp_path: Path) -> None:
    from bot.front_door import self_signed

    cert, key = self_signed(tmp_path / "cert", "127.0.0.1")
    (tmp_path / "run").mkdir()
    async with running_stack(tmp_path / "run", 1, VOICEBOT_ENGINE_TLS_CERT=str(cert),
                             VOICEBOT_ENGINE_TLS_KEY=str(key)) as stack:  # fmt: skip
        code, out = await softphone(stack.uri, "Hi, so what are your opening hours?")
        log = (tmp_path / "run" / "stack.log").read_text(errors="replace")
    assert code == 0, out
    assert f"engine listening on wss://127.0.0.1:{stack.engine_port}" in log
