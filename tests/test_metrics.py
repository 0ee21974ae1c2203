"""GET /metrics on `voicebot run` (the shared stack): the supervisor's own series and what the
workers and the engine count, merged from their multiprocess files, move as the calls did."""

from __future__ import annotations

import asyncio

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.stack import Stack, softphone

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(stack: Stack) -> Samples:
    url = f"http://127.0.0.1:{stack.env['VOICEBOT_METRICS_PORT']}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        assert r.status == 200
        text = await r.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}  # fmt: skip


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


async def test_metrics_move_as_the_calls_did(stack: Stack) -> None:
    before = await scrape(stack)
    assert total(before, "voicebot_child_up", child="engine") == 1
    call = asyncio.ensure_future(softphone(stack.uri, "@1200:Sorry, hang on, I have a question about my bill.",
                                           "Hmm, what time do you open tomorrow?", "Okay, that's all I needed. Bye!"))  # fmt: skip
    active = 0.0
    async with asyncio.timeout(60):
        while not call.done() and not active:  # (the call runs in another process: polled)
            active = total(await scrape(stack), "voicebot_calls_active", direction="inbound")
            await asyncio.sleep(0.3)
    code, out = await call
    assert code == 0, out
    assert active >= 1  # seen while it was up
    await asyncio.sleep(1.0)  # the worker records the end a moment after the BYE
    after = await scrape(stack)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("voicebot_calls_total", direction="inbound") >= 1
    assert moved("voicebot_calls_total", direction="inbound", outcome="completed") >= 1, out
    assert moved("voicebot_call_setup_seconds_count", direction="inbound") >= 1
    assert moved("voicebot_turn_latency_seconds_count") >= 2  # a reply to each turn (one said over the greeting)
    assert moved("voicebot_reply_gap_seconds_count") >= 2  # ...and each reply's gap on the line
    assert (
        moved("voicebot_edge_decisions_total", kind="interrupted")
        + moved("voicebot_edge_decisions_total", kind="paused")
        >= 1
    ), out  # the barge-in over the greeting
    assert moved("voicebot_tool_calls_total", tool="end_call", outcome="ok") >= 1
    assert moved("voicebot_engine_stage_seconds_count", stage="brain") >= 2
    # Bounded labels only: no call ids anywhere.
    assert not [k for k in after if any("call" in name and len(v) > 30 for name, v in k[1])]
