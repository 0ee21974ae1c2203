"""A `voicebot engine` process for a bench: started on a free loopback port, healthy before use,
stopped after. A crash shows as its exit code (`returncode` of the yielded process)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

import aiohttp

START_S = 120.0  # the models load first


@asynccontextmanager
async def engine_process(
    log: IO[bytes] | None = None, env: dict[str, str] | None = None
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """(its http base URL, the process); `log` receives its stdout and stderr; `env`: settings added
    to this process's environment (VOICEBOT_*)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("voicebot")
    proc = await asyncio.create_subprocess_exec(str(exe), "--log-level", "WARNING", "engine", "--host", "127.0.0.1",
                                                "--port", str(port), stdout=log, stderr=log,
                                                env={**os.environ, **(env or {})})  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            deadline = asyncio.get_running_loop().time() + START_S
            while not await _healthy(http, base):
                if proc.returncode is not None or asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"the engine did not start within {START_S:.0f} s")
                await asyncio.sleep(0.1)
        yield base, proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 20)


async def _healthy(http: aiohttp.ClientSession, base: str) -> bool:
    try:
        async with http.get(f"{base}/health") as r:
            return r.status == 200
    except aiohttp.ClientError:
        return False
