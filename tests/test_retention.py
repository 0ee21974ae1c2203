"""Recordings older than the retention period are deleted, with the day folders they leave empty;
the page without a key is served on loopback only."""

from __future__ import annotations

import os
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.live_page import add_live_page
from bot.retention import sweep
from tests.stack import free_port


def test_old_recordings_go_new_ones_stay(tmp_path: Path) -> None:
    now = time.time()
    old, new = tmp_path / "2026-10-01" / "a.wav", tmp_path / "2026-12-03" / "b.wav"
    mixed = tmp_path / "2026-11-20"
    for path in (old, new, mixed / "c.wav", mixed / "d.wav"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"RIFF")
    os.utime(old, (now - 40 * 86400, now - 40 * 86400))
    os.utime(mixed / "c.wav", (now - 31 * 86400, now - 31 * 86400))
    assert sweep(tmp_path, 30, now) == 2
    assert not old.exists() and not old.parent.exists()  # (its day folder, empty, went too)
    assert new.exists() and (mixed / "d.wav").exists() and not (mixed / "c.wav").exists()
    assert sweep(tmp_path / "missing", 30, now) == 0


async def page_status(key: str | None, host: str, cookie: str | None = None) -> int:
    app = web.Application()
    add_live_page(app, key, host)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        jar = {"voicebot_key": cookie} if cookie else None
        async with aiohttp.ClientSession(cookies=jar) as http, http.get(f"http://127.0.0.1:{port}/") as r:
            return r.status
    finally:
        await runner.cleanup()


async def test_without_a_key_the_page_is_served_on_loopback_only() -> None:
    assert await page_status(None, "127.0.0.1") == 200
    assert await page_status(None, "0.0.0.0") == 401  # listening beyond loopback: a key is needed
    assert await page_status("s3cret", "0.0.0.0") == 401
    assert await page_status("s3cret", "0.0.0.0", cookie="s3cret") == 200
