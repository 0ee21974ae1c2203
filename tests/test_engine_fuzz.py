"""Mutated client events against the engine (bench/ws_fuzz.py's generator, fewer events): every event
the protocol cannot take gets a bounded error, no session is lost, nothing is logged as a crash."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from bench.ws_fuzz import Fuzzer
from bot.engine.runtime import EngineRuntime


async def test_mutated_events_are_refused_by_name_and_no_session_is_lost(
    engine_url: str, runtime: EngineRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    fuzzers = [Fuzzer(f"{engine_url}/v1/realtime?model=x", seed) for seed in (11, 12)]
    with caplog.at_level(logging.ERROR, logger="bot"):
        async with aiohttp.ClientSession() as http:
            for fuzzer in fuzzers:
                await fuzzer.run(http, 600)
        await runtime.settled()  # tool phrasings a fuzzed session.update asked to encode
    for fuzzer in fuzzers:
        assert fuzzer.events == 600
        assert (fuzzer.unanswered, fuzzer.sessions_lost) == (0, 0)
        assert fuzzer.refused > 300  # most mutations break the event: each was refused with an error
        assert fuzzer.max_error_bytes < 4096
    crashes = [r for r in caplog.records if r.exc_info]
    assert not crashes, crashes[0].getMessage()
