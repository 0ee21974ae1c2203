"""The whole product as `make run` starts it (`voicebot run`), on free loopback ports, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

VOICEBOT = str(Path(sys.executable).with_name("voicebot"))


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

    @property
    def uri(self) -> str:
        return f"sip:bot@127.0.0.1:{self.sip_port}"


@contextlib.asynccontextmanager
async def running_stack(tmp: Path, workers: int, **env_overrides: str) -> AsyncIterator[Stack]:
    sip_port = free_sip_port(workers + 1)
    redis_port, engine_port = free_port(), free_port()
    env = {**os.environ, "VOICEBOT_REDIS_PORT": str(redis_port), "VOICEBOT_ENGINE_PORT": str(engine_port),
           "VOICEBOT_RUN_DIR": str(tmp), "VOICEBOT_RTP_PORT_BASE": "0", **env_overrides}  # fmt: skip
    env.pop("REDIS_URL", None)
    log = (tmp / "stack.log").open("wb")
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
                    raise RuntimeError(f"voicebot run exited; see {tmp / 'stack.log'}")
                if line.startswith(b"voicebot ready"):
                    break
        yield Stack(sip_port, f"redis://127.0.0.1:{redis_port}/0", engine_port, proc, tmp, env)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        log.close()


async def softphone(uri: str, *say: str, record: Path | None = None, caller: str = "softphone",
                    echo: bool = False) -> tuple[int, str]:  # fmt: skip
    """`voicebot call`: exit status and what it printed. `echo`: the line returns the bot's voice
    (−12 dB, 60 ms late) under line noise (−50 dBFS)."""
    args = [VOICEBOT, "--log-level", "WARNING", "call", uri, "--from", caller, *(["--echo"] if echo else [])]
    for text in say:
        args += ["--say", text]
    if record is not None:
        args += ["--record", str(record)]
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 180)
    return proc.returncode or 0, out.decode(errors="replace")


async def last_call(where: Stack | str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The newest call's record and transcript, from a stack's Redis or a Redis URL."""
    from redis.asyncio import Redis

    from bot.state import CallStore

    redis = Redis.from_url(where if isinstance(where, str) else where.redis_url)
    try:
        store = CallStore(redis)
        call_id = (await store.recent(1))[0]
        return await store.record(call_id), await store.transcript_of(call_id)
    finally:
        await redis.aclose()
