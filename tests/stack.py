"""The whole product as `make run` starts it (`voicebot run`), on free loopback ports, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bot import private_redis
from sip.probe import options_ping

VOICEBOT = str(Path(sys.executable).with_name("voicebot"))
AGENT_URI = "sip:agent@127.0.0.1:5999"  # the human queue transfers go to (the caller only reports on it)
CRM_SECRET = "s3cret"  # the HTTP CRM stand-in's (tests/conftest.py)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_sip_port(span: int) -> int:
    """A port with `span` free UDP and TCP ports after it (Kamailio + workers)."""
    while True:
        base = free_port(socket.SOCK_DGRAM)
        if base + span > 65000:
            continue
        try:
            for p in range(base, base + span + 1):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    with socket.socket(socket.AF_INET, kind) as s:
                        s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue


@dataclass
class Stack:
    sip_port: int
    redis_url: str
    engine_port: int
    proc: asyncio.subprocess.Process
    run_dir: Path
    env: dict[str, str]
    tls_port: int = 0
    log: IO[bytes] | None = None  # the open stack.log (closed when the stack stops)

    @property
    def uri(self) -> str:
        return f"sip:bot@127.0.0.1:{self.sip_port}"

    @property
    def tls_uri(self) -> str:
        return f"sip:bot@127.0.0.1:{self.tls_port};transport=tls"


class StackExited(RuntimeError):
    def __init__(self, log_path: Path) -> None:
        self.tail = log_path.read_text(errors="replace")[-3000:]
        super().__init__(f"voicebot run exited; the end of {log_path}:\n{self.tail}")

    @property
    def lost_a_port(self) -> bool:
        """A port picked free was taken before the stack bound it (by another test's connections)."""
        return "already in use" in self.tail.lower()


@contextlib.asynccontextmanager
async def running_stack(tmp: Path, workers: int, **env_overrides: str) -> AsyncIterator[Stack]:
    """The stack on free ports; started once more, on new ports, if one was taken in between."""
    for attempt in (1, 2):
        try:
            stack = await _start_stack(tmp, workers, **env_overrides)
            break
        except StackExited as exited:
            if attempt == 2 or not exited.lost_a_port:
                raise
            print(f"stack start lost a port race, starting again:\n{exited.tail}", file=sys.stderr)
    try:
        yield stack
    finally:
        proc = stack.proc
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if stack.log is not None:
            stack.log.close()


async def _start_stack(tmp: Path, workers: int, **env_overrides: str) -> Stack:
    sip_port = free_sip_port(workers + 1)
    redis_port, engine_port = free_port(), free_port()
    # (With a front door, SIP over TLS too, and the media proxy on a port of its own.)
    env = {**os.environ, "VOICEBOT_REDIS_PORT": str(redis_port), "VOICEBOT_ENGINE_PORT": str(engine_port),
           "VOICEBOT_RUN_DIR": str(tmp), "VOICEBOT_RECORDINGS_DIR": str(tmp / "recordings"), "VOICEBOT_RTP_PORT_BASE": "0",
           "VOICEBOT_SIP_TLS_PORT": str(free_port() if workers > 1 else 0),
           "VOICEBOT_MEDIA_PROXY_PORT": str(free_port(socket.SOCK_DGRAM)), "VOICEBOT_METRICS_PORT": str(free_port()),
           **env_overrides}  # fmt: skip
    env.pop("REDIS_URL", None)
    log_path = tmp / "stack.log"
    log = log_path.open("ab")
    proc = await asyncio.create_subprocess_exec(
        VOICEBOT, "--log-level", "INFO", "run", "--sip-port", str(sip_port), "--workers", str(workers),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=log,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(180):
            while True:
                line = await proc.stdout.readline()
                if not line:
                    await proc.wait()
                    log.close()
                    raise StackExited(log_path)
                if line.startswith(b"voicebot ready"):
                    break
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        log.close()
        raise
    redis_url = private_redis.url_for(tmp, "127.0.0.1", redis_port)  # (its password, kept in the run dir)
    return Stack(sip_port, redis_url, engine_port, proc, tmp, env, int(env["VOICEBOT_SIP_TLS_PORT"]), log)


async def softphone(uri: str, *say: str, record: Path | None = None, caller: str = "softphone",
                    echo: bool = False, srtp: bool = False, end_silence_s: float | None = None,
                    max_turn_s: float | None = None) -> tuple[int, str]:  # fmt: skip
    """`voicebot call`: exit status and what it printed (and, when it failed, the end of what it
    logged). `echo`: the line returns the bot's voice (−12 dB, 60 ms late) under line noise (−50 dBFS)."""
    args = [VOICEBOT, "--log-level", "WARNING", "call", uri, "--from", caller, *(["--echo"] if echo else []),
            *(["--srtp"] if srtp else []),
            *(["--end-silence-s", str(end_silence_s)] if end_silence_s is not None else []),
            *(["--max-turn-s", str(max_turn_s)] if max_turn_s is not None else [])]  # fmt: skip
    for text in say:
        args += ["--say", text]
    if record is not None:
        args += ["--record", str(record)]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    text = out.decode(errors="replace")
    if proc.returncode:
        text += "\n[softphone stderr]\n" + err.decode(errors="replace")[-3000:]
    return proc.returncode or 0, text


async def answering_phone(port: int, *say: str, first: str | None = None, wait_s: float = 120.0,
                          end_silence_s: float = 1.2) -> asyncio.subprocess.Process:  # fmt: skip
    """`voicebot answer` on `port` (a person who takes the call), listening once this returns."""
    args = [VOICEBOT, "--log-level", "WARNING", "answer", "--port", str(port), "--wait-s", str(wait_s),
            "--max-turn-s", "30", "--end-silence-s", str(end_silence_s), *(["--first", first] if first else [])]  # fmt: skip
    for text in say:
        args += ["--say", text]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    async with asyncio.timeout(60):
        while not (await proc.stdout.readline()).startswith(b"listening:"):
            pass
    return proc


async def phone_report(proc: asyncio.subprocess.Process) -> tuple[dict[str, Any], str]:
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    text = out.decode(errors="replace") + "\n[stderr]\n" + err.decode(errors="replace")[-3000:]
    return report_of(text), text


def bot_rtp_ports(stack: Stack, workers: int = 4) -> set[int]:
    from sip.worker import rtp_ports_for  # (pjsua2: only where a test needs the workers' ports)

    ports: set[int] = set()
    for i in range(workers):
        base = rtp_ports_for(stack.sip_port + 1 + i)
        ports.update(range(base, base + 24))
    return ports


@contextlib.asynccontextmanager
async def lone_worker(
    engine_url: str, redis_url: str = "redis://127.0.0.1:1/0", worker_id: str = "w1", **env_overrides: str
) -> AsyncIterator[int]:
    """One SIP worker (no Kamailio; by default no Redis) talking to `engine_url`; yields its SIP port."""
    port = free_sip_port(1)
    env = {**os.environ, "VOICEBOT_REALTIME_URL": engine_url, "REDIS_URL": redis_url, **env_overrides}
    worker = await asyncio.create_subprocess_exec(
        VOICEBOT, "sip-worker", "--port", str(port), "--id", worker_id, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            if await options_ping("127.0.0.1", port, 0.2) == 200:
                break
        yield port
        assert await options_ping("127.0.0.1", port) == 200  # still alive after the test's calls
    finally:
        worker.send_signal(signal.SIGTERM)
        await asyncio.wait_for(worker.wait(), 20)


async def call_of(
    where: Stack | str, call_id: str, until: str = "ended"
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The record and transcript of the call with this SIP Call-ID (or the one call whose Call-ID
    starts with a SIPp run's prefix), once its state is `until`, from a stack's Redis or a Redis URL."""
    from redis.asyncio import Redis

    from bot.state import CallStore

    redis = Redis.from_url(where if isinstance(where, str) else where.redis_url)
    try:
        store = CallStore(redis)
        async with asyncio.timeout(10):  # the worker writes the end of a call a moment after the BYE
            while True:
                found = [c for c in await store.recent(200) if c == call_id or c.startswith(call_id)]
                assert len(found) <= 1, found
                record = await store.record(found[0]) if found else {}
                if record.get("state") == until:
                    return record, await store.transcript_of(found[0])
                await asyncio.sleep(0.1)
    finally:
        await redis.aclose()


def report_of(out: str) -> dict[str, Any]:
    """The JSON line `voicebot call` prints at the end (pjsua may log a line or two after it)."""
    for line in reversed(out.strip().splitlines()):
        if line.startswith("{"):
            report: dict[str, Any] = json.loads(line)
            return report
    raise AssertionError(f"no report in the softphone's output: {out[-2000:]}")


def call_id_of(out: str) -> str:
    return str(report_of(out)["call_id"])


def decisions(lines: list[dict[str, str]], kind: str) -> list[dict[str, Any]]:
    """The figures of each edge decision of `kind` in a transcript (bot/edge/call_log.py)."""
    return [json.loads(line["data"]) for line in lines if line.get("event") == kind]


async def listening_pid(port: int) -> int | None:
    """The process listening on this TCP port (the engine: its standby has the same command line)."""
    proc = await asyncio.create_subprocess_exec("ss", "-Hltnp", f"sport = :{port}", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    found = re.search(rb"pid=(\d+)", out)
    return int(found.group(1)) if found else None


async def pids(pattern: str) -> list[int]:
    """Processes whose command line matches `pattern` (pgrep -f)."""
    proc = await asyncio.create_subprocess_exec("pgrep", "-f", pattern, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return [int(p) for p in out.split()]


def parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
