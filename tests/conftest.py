from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.engine.runtime import EngineRuntime
from bot.settings import Settings
from flows.crm import Crm, seed
from flows.http_crm import verify
from tests.client import RawClient
from tests.engine_setup import connect, serve_engine
from tests.stack import AGENT_URI, CRM_SECRET, Stack, free_port, running_stack


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Every test leaves the event loop as it found it: a task it started and did not end fails it.
    (A task still ending after the test's own teardown, a session closing its connections after its
    client went away, gets a second to end by itself.)"""
    before = asyncio.all_tasks()
    yield

    def running() -> list[asyncio.Task[Any]]:
        return [t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()]

    for _ in range(5):
        await asyncio.sleep(0)  # tasks cancelled in teardown finish
    if running():
        await asyncio.wait(running(), timeout=1.0)
    leaked = running()
    assert not leaked, f"tasks left running: {leaked}"


@pytest.fixture(scope="session")
def runtime() -> EngineRuntime:
    return EngineRuntime.load(Settings(_env_file=None))


@pytest.fixture(scope="session")
async def engine_url(runtime: EngineRuntime) -> AsyncIterator[str]:
    async with serve_engine(runtime) as url:
        yield url


@pytest.fixture
async def beta(engine_url: str) -> AsyncIterator[RawClient]:
    async with connect(engine_url, dialect="beta") as client:
        yield client


@pytest.fixture
async def ga(engine_url: str) -> AsyncIterator[RawClient]:
    async with connect(engine_url, dialect="ga") as client:
        yield client


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """`voicebot run` with Kamailio in front of 4 SIP workers, shared by the call-path tests."""
    async with running_stack(tmp_path_factory.mktemp("stack"), workers=4, VOICEBOT_TRANSFER_URI=AGENT_URI,
                             VOICEBOT_API_KEY="test-api-k3y") as s:  # fmt: skip
        yield s


@pytest.fixture(scope="session")
async def redis_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A private redis-server for tests that need state but no calls."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        "redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
        "--dir", str(tmp_path_factory.mktemp("redis")), stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            try:
                client = Redis.from_url(url)
                await client.ping()
                await client.aclose()
                break
            except (OSError, RedisError):
                await asyncio.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        await proc.wait()


@pytest.fixture
async def crm_server(redis_url: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A stand-in for a customer's CRM on loopback, answering the HTTP connector's signed requests
    from the demo data in Redis. `behaviour` steers it: fail_next (503s), delay_s, fail_ops (500)."""
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await seed(redis)
    backend = Crm(redis)
    behaviour: dict[str, Any] = {"fail_next": 0, "delay_s": 0.0, "requests": 0, "fail_ops": set()}

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        behaviour["requests"] += 1
        if not verify(CRM_SECRET, body, request.headers.get("X-Voicebot-Signature", ""), time.time()):
            return web.json_response({"error": "bad signature"}, status=401)
        call = json.loads(body)
        if behaviour["fail_next"] > 0 or call["op"] in behaviour["fail_ops"]:
            behaviour["fail_next"] = max(0, behaviour["fail_next"] - 1)
            return web.json_response({"error": "busy"}, status=503)
        await asyncio.sleep(behaviour["delay_s"])
        return web.json_response({"result": await getattr(backend, call["op"])(**call["args"])})

    app = web.Application()
    app.router.add_post("/crm", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/crm", behaviour
    await runner.cleanup()
    await redis.aclose()
