"""The live-calls page in a real browser (Debian's Chromium, headless, driven by selenium) against the
shared stack with real calls: a call appears, its transcript grows, it ends and is listed with its
outcome, transcript and recording; the hang-up button ends a call; without the key nothing is shown."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.stack import Stack, call_id_of, call_of, softphone

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# Nothing beyond loopback: no sync, updates, metrics or first-run fetches.
QUIET = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--disable-default-apps", "--metrics-recording-only", "--no-default-browser-check",
         "--autoplay-policy=no-user-gesture-required")  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    assert CHROMIUM and DRIVER, "chromium and chromium-driver are installed by scripts/install-system.sh"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in QUIET:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)  # (a driver given: no download)
    try:
        yield driver
    finally:
        driver.quit()


def base(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.env['VOICEBOT_METRICS_PORT']}"


async def until(check: Callable[[], Any], timeout_s: float = 45.0, what: str = "") -> Any:
    """Poll the page (selenium is blocking: each look runs off the loop) until `check` gives something."""
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                got = await asyncio.to_thread(check)
            except (NoSuchElementException, StaleElementReferenceException):
                got = None
            if got:
                return got
            await asyncio.sleep(0.2)


def live_rows(driver: WebDriver) -> list[Any]:
    return list(driver.find_elements(By.CSS_SELECTOR, "#live tbody tr[data-call-id]"))


def transcript_lines(driver: WebDriver, call_id: str, table: str = "live") -> list[str]:
    row = driver.find_element(By.CSS_SELECTOR, f'#{table} tr[data-call-id="{call_id}"]')
    return [line.text for line in row.find_elements(By.CSS_SELECTOR, ".transcript .line")]


async def test_without_the_key_the_page_and_its_data_are_refused(stack: Stack) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/", "/live/calls", "/live/events", "/recordings/x"):
            async with http.get(base(stack) + path) as r:
                assert r.status == 401, path
                assert "VOICEBOT_API_KEY" in (await r.json())["error"]["message"]
                assert r.headers["Server"] == "voicebot"  # (no versions)
        async with http.get(base(stack) + "/?key=wrong") as r:
            assert r.status == 401


async def test_a_call_appears_its_transcript_grows_and_it_ends(stack: Stack, browser: WebDriver) -> None:
    await asyncio.to_thread(browser.get, f"{base(stack)}/?key={stack.env['VOICEBOT_API_KEY']}")
    assert browser.current_url.rstrip("/") == base(stack)  # the key left the address (a cookie now)
    await until(lambda: browser.find_element(By.ID, "status").text == "live", what="the feed")
    call = asyncio.ensure_future(softphone(
        stack.uri, "@1500:Hi, um, what time do you open tomorrow?", "Okay. And, uh, are you open on Sundays?",
        "Alright, that's all I needed, thanks. Bye!", caller="+15550177",
    ))  # fmt: skip
    try:
        row = await until(lambda: [r for r in live_rows(browser) if "+15550177" in r.text], what="the call's row")
        call_id = row[0].get_attribute("data-call-id")
        first = await until(lambda: transcript_lines(browser, call_id), what="a first line")

        def both_sides() -> list[str] | None:
            lines = transcript_lines(browser, call_id)
            roles = {line.split(" ", 1)[0] for line in lines}
            return lines if len(lines) >= len(first) + 2 and {"caller", "bot"} <= roles else None

        await until(both_sides, what="the caller's and the bot's lines")
        code, out = await call
    finally:
        if not call.done():
            call.cancel()
    assert code == 0, out
    assert call_id == call_id_of(out)
    await until(lambda: not [r for r in live_rows(browser) if r.get_attribute("data-call-id") == call_id],
                what="the call leaving the live list")  # fmt: skip
    recent = await until(lambda: browser.find_elements(By.CSS_SELECTOR, f'#recent tr[data-call-id="{call_id}"]'))
    assert "completed" in recent[0].text and "end_call" in recent[0].text, recent[0].text
    await asyncio.to_thread(recent[0].find_element(By.CSS_SELECTOR, "button.open").click)
    lines = await until(lambda: transcript_lines(browser, call_id, "recent"), what="the ended call's transcript")
    assert any("Sunday" in line or "sunday" in line for line in lines), lines
    audio = await until(lambda: browser.find_elements(By.CSS_SELECTOR, f'#recent tr[data-call-id="{call_id}"] audio'))
    src = audio[0].get_attribute("src")
    await asyncio.to_thread(browser.execute_script, "arguments[0].preload = 'auto'; arguments[0].load();", audio[0])
    duration = await until(lambda: browser.execute_script("const d = arguments[0].duration; return d > 0 ? d : null;",
                                                          audio[0]), what="the recording playable in the page")  # fmt: skip
    assert src.endswith(f"/recordings/{call_id}") and float(duration) > 5.0
    chart = browser.find_elements(By.CSS_SELECTOR, "#chart rect.bar")
    assert chart, "the last hour's chart has the call"


async def test_the_hang_up_button_ends_the_call(stack: Stack, browser: WebDriver) -> None:
    await asyncio.to_thread(browser.get, f"{base(stack)}/?key={stack.env['VOICEBOT_API_KEY']}")
    call = asyncio.ensure_future(softphone(
        stack.uri, "Hi, I have a few questions about my account.", "@8000:Hello? Are you still there?",
        "@8000:Hmm, okay.", caller="+15550178",
    ))  # fmt: skip
    try:
        row = await until(lambda: [r for r in live_rows(browser) if "+15550178" in r.text], what="the call's row")
        await until(lambda: transcript_lines(browser, row[0].get_attribute("data-call-id")), what="a first line")
        await asyncio.to_thread(row[0].find_element(By.CSS_SELECTOR, "button.hangup").click)
        _, out = await asyncio.wait_for(call, 30)
    finally:
        if not call.done():
            call.cancel()
    record, _ = await call_of(stack, call_id_of(out))
    assert record["outcome"] == "hung_up_by_request", record
