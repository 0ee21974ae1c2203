"""The call session without SIP or sockets: an in-memory call port and Realtime engine, on a virtual
clock (tests/edge_doubles.py). Each test is a timeline in ms from the moment the call is answered."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from bot.edge.barge import EdgeDetector
from bot.edge.call_log import Decision
from bot.edge.config import BotConfig
from bot.edge.engine_link import RealtimeTarget
from bot.edge.fallback_audio import FallbackAudio
from bot.edge.session import CallSession
from bot.realtime.client_events import (
    ConversationItemCreate,
    ConversationItemDelete,
    ConversationItemTruncate,
    FunctionCallOutputItem,
    InputAudioBufferAppend,
    ResponseCancel,
    ResponseCreate,
    SessionUpdate,
)
from flows.registry import ToolRegistry, ToolResult
from tests.edge_doubles import (
    MS_PER_WORD,
    SPEECH,
    LoudIsSpeech,
    MemoryCall,
    MemoryEngine,
    Reply,
    bot_config,
    on_virtual_clock,
    sleep_until,
)

GREETING = "Hello, thanks for calling Acme Telecom. How can I help you today?"  # 12 words: 2400 ms
LONG_GREETING = " ".join(["Hello, and thanks for calling Acme Telecom, where we keep you connected."] * 4)
Script = Callable[[MemoryCall, MemoryEngine], Coroutine[Any, Any, None]]


def run_call(engine: MemoryEngine, script: Script, *, tools: ToolRegistry | None = None, bot: BotConfig | None = None,
             call: MemoryCall | None = None, fallback: FallbackAudio | None = None) -> tuple[str, MemoryCall, list[Decision]]:  # fmt: skip
    """Answer a call, run `script` as the caller; the outcome, the call, what the edge decided."""
    call = call or MemoryCall()
    decided: list[Decision] = []

    async def main() -> str:
        session = CallSession(call, RealtimeTarget("ws://engine.invalid/v1/realtime"), bot or bot_config(),
                              tools or ToolRegistry(), None, "w-test", connect=engine.connect(),
                              barge=EdgeDetector(front_end=LoudIsSpeech), fallback=fallback)  # fmt: skip
        async with asyncio.TaskGroup() as group:
            outcome = group.create_task(session.run())
            await call.answered.wait()
            media = group.create_task(call.run_media())
            caller = group.create_task(script(call, engine))
            result = await outcome
            caller.cancel()
            media.cancel()
        decided.extend(kind for kind, _ in session.log.decisions)
        return result

    return on_virtual_clock(main), call, decided


def says(call: MemoryCall, engine: MemoryEngine, text: str, at_ms: float, duration_ms: float, item: str) -> None:
    call.speak(at_ms, duration_ms)
    engine.caller_turn(text, at_ms, duration_ms, item)


async def hang_up_at(call: MemoryCall, ms: float) -> None:
    await sleep_until(ms)
    call.hang_up_from_caller()


def test_answer_greets_in_g711_and_the_greeting_plays_to_its_last_word() -> None:
    engine = MemoryEngine([Reply(GREETING)])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        await hang_up_at(call, 6000)

    outcome, call, decided = run_call(engine, caller)
    assert outcome == "caller_hung_up" and call.answers == [180, 200] and decided == []
    update = engine.received[0]
    assert isinstance(update, SessionUpdate)
    session = update.session
    assert session["input_audio_format"] == session["output_audio_format"] == "g711_ulaw"
    assert session["turn_detection"]["create_response"] is False  # the edge asks for each reply itself
    assert isinstance(engine.received[1], ResponseCreate)  # the greeting, once media is up
    assert call.played_ms("item_bot_1") == 12 * MS_PER_WORD
    assert engine.closed


def test_uh_huh_over_the_greeting_pauses_it_then_it_goes_on_where_it_stopped() -> None:
    engine = MemoryEngine([Reply(GREETING)])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        says(call, engine, "Uh-huh.", 1000, 300, "item_c1")
        await hang_up_at(call, 8000)

    outcome, call, decided = run_call(engine, caller)
    assert outcome == "caller_hung_up"
    held = [ms for ms, _ in call.played if 1100 <= ms < 1700]
    assert held == [], held  # silent within a few frames of the caller's onset, while the words were awaited
    assert call.played_ms("item_bot_1") == 12 * MS_PER_WORD  # then the rest, every frame of it
    assert not engine.truncates() and not engine.of_type(ResponseCancel)
    assert [e.item_id for e in engine.of_type(ConversationItemDelete)] == ["item_c1"]  # not a turn
    assert decided == [Decision.PAUSED, Decision.RESUMED]
    assert len(engine.of_type(ResponseCreate)) == 1  # and not answered


def test_words_over_a_reply_interrupt_it_and_truncate_at_what_was_played() -> None:
    engine = MemoryEngine([Reply(LONG_GREETING), Reply("Sure, I can help with your address.")])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        says(call, engine, "Actually, wait, I need to change my address.", 1000, 1500, "item_c1")
        await hang_up_at(call, 9000)

    outcome, call, decided = run_call(engine, caller)
    assert outcome == "caller_hung_up"
    [truncate] = engine.truncates()
    played_before = call.played_ms("item_bot_1")
    assert truncate.item_id == "item_bot_1" and truncate.audio_end_ms == played_before  # exactly what was heard
    assert 800 <= played_before <= 1100  # the bot went quiet at the caller's onset, at ~1060 ms
    assert engine.of_type(ResponseCancel)  # the reply was still being made: cancelled
    assert decided == [Decision.PAUSED, Decision.INTERRUPTED]
    creates = [i for i, e in enumerate(engine.received) if isinstance(e, ResponseCreate)]
    assert len(creates) == 2 and creates[1] > engine.received.index(truncate)  # then the caller is answered
    assert call.played_ms("item_bot_2") == 7 * MS_PER_WORD


def outage_tools(calls: list[str]) -> ToolRegistry:
    tools = ToolRegistry()

    @tools.tool("Check for a service outage at a ZIP code.")
    async def check_outage(zip_code: str) -> dict[str, Any]:
        calls.append(zip_code)
        await asyncio.sleep(3.0)  # a slow system
        return {"outage": False, "zip_code": zip_code}

    @tools.tool("Book an engineer visit.")
    async def book_engineer() -> dict[str, Any]:
        raise RuntimeError("scheduling system down")

    return tools


def test_a_slow_tool_gets_a_filler_and_a_failing_tool_an_apology_the_call_goes_on() -> None:
    engine = MemoryEngine([
        Reply(GREETING), Reply(tool=("check_outage", {"zip_code": "78702"})), Reply("There is no outage at 78702."),
        Reply(tool=("book_engineer", {})), Reply("Sorry, I couldn't reach that system just now."),
    ])  # fmt: skip
    calls: list[str] = []

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        says(call, engine, "Um, is there an outage in 78702?", 4000, 1500, "item_c1")
        says(call, engine, "Okay, then can you send an engineer?", 12000, 1500, "item_c2")
        await hang_up_at(call, 20000)

    outcome, call, decided = run_call(engine, caller, tools=outage_tools(calls))
    assert outcome == "caller_hung_up" and calls == ["78702"] and decided == []  # nobody talked over anybody
    assert engine.said() == ["One moment, please."]  # only the slow one
    assert engine.tool_outputs() == [
        {"outage": False, "zip_code": "78702"},
        {"error": "I couldn't reach that system just now"},
    ]
    outputs = [i for i, e in enumerate(engine.received)
               if isinstance(e, ConversationItemCreate) and isinstance(e.item, FunctionCallOutputItem)]  # fmt: skip
    creates = [i for i, e in enumerate(engine.received) if isinstance(e, ResponseCreate)]
    assert all(any(c > o for c in creates) for o in outputs)  # every output is answered
    assert call.played_ms("item_bot_4") == 6 * MS_PER_WORD  # "There is no outage at 78702." (after the filler)


def hangup_and_transfer_tools() -> ToolRegistry:
    tools = ToolRegistry()

    @tools.tool("End the call.")
    async def end_call() -> ToolResult:
        return ToolResult({"message": "Goodbye!"}, action="hangup")

    @tools.tool("Transfer to a human agent.")
    async def transfer_to_agent(reason: str) -> ToolResult:
        return ToolResult({"message": "Transferring."}, action="transfer", action_args={"reason": reason})

    return tools


def test_hang_up_waits_for_the_last_words_to_play() -> None:
    goodbye = "Thank you for calling Acme Telecom. Goodbye!"
    engine = MemoryEngine([Reply(GREETING), Reply(tool=("end_call", {})), Reply(goodbye)])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        says(call, engine, "That's all, thanks, bye.", 4000, 1200, "item_c1")
        await hang_up_at(call, 30000)

    outcome, call, decided = run_call(engine, caller, tools=hangup_and_transfer_tools())
    assert outcome == "completed" and decided == []
    assert call.played_ms("item_bot_3") == 7 * MS_PER_WORD  # every word of the goodbye...
    assert call.hung_up_at is not None and call.hung_up_at >= call.played[-1][0] + 400  # ...reached the caller


def test_transfer_refers_after_the_last_words_with_the_context() -> None:
    engine = MemoryEngine([Reply(GREETING), Reply(tool=("transfer_to_agent", {"reason": "billing dispute"})),
                           Reply("Connecting you to an agent now.")])  # fmt: skip

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        says(call, engine, "I want to talk to a person about my bill.", 4000, 1500, "item_c1")
        await call.referred.wait()
        call.transfer_status(200)
        await hang_up_at(call, 30000)

    outcome, call, decided = run_call(engine, caller, tools=hangup_and_transfer_tools())
    assert outcome == "transferred" and call.hung_up_at is not None
    [(target, headers)] = call.transfers
    assert target == "sip:agent@127.0.0.1"
    assert headers["X-Voicebot-Reason"] == "billing dispute" and headers["X-Voicebot-Call-Id"] == "call-1"
    assert "talk to a person" in headers["X-Voicebot-Summary"]
    assert decided == [Decision.TRANSFER]
    assert call.played_ms("item_bot_3") == 6 * MS_PER_WORD


FALLBACK = FallbackAudio({"hold": SPEECH * 75, "sorry": SPEECH * 150, "transfer": SPEECH * 100})  # 1.5, 3, 2 s


def longest_quiet_ms(call: MemoryCall, start_ms: float, end_ms: float) -> float:
    """The longest stretch between `start_ms` and `end_ms` with no bot frame played."""
    times = [start_ms] + [ms for ms, _ in call.played if start_ms <= ms < end_ms] + [end_ms]
    return max(b - a for a, b in itertools.pairwise(times))


def run_with_fallback(engine: MemoryEngine, script: Script, **bot: Any) -> tuple[str, MemoryCall, list[Decision]]:
    return run_call(engine, script, bot=bot_config(**bot), fallback=FALLBACK)


def test_an_engine_lost_mid_call_is_bridged_by_the_hold_line_then_the_conversation_goes_on() -> None:
    engine = MemoryEngine([Reply(GREETING), Reply("Your order ships tomorrow.")])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        says(call, engine, "Where is my order?", 3000, 1000, "item_c1")
        await sleep_until(6000)
        engine.drop(back_after_ms=4000)  # a restart: the edge holds the caller for 4 s
        await sleep_until(12000)
        says(call, engine, "And can I change the address?", 12000, 1500, "item_c2")
        await hang_up_at(call, 20000)

    outcome, call, decided = run_with_fallback(engine, caller)
    assert outcome == "caller_hung_up"
    assert decided == [Decision.ENGINE_LOST, Decision.ENGINE_BACK]
    assert call.played_ms("fallback_hold") == 1500 and call.played_ms("fallback_chime") > 0
    first_hold = min(ms for ms, item in call.played if item == "fallback_hold")
    assert 6000 <= first_hold < 6100  # at once
    back = engine.session(1)
    assert isinstance(back[0], SessionUpdate)
    replayed = [e.item for e in back if isinstance(e, ConversationItemCreate)]
    assert [(i.type, getattr(i, "role", None)) for i in replayed] == [("message", "assistant"), ("message", "user"),
                                                                     ("message", "assistant")]  # fmt: skip
    assert replayed[1].content[0].text == "Where is my order?"  # type: ignore[union-attr]
    assert engine.said()[-1] == bot_config().engine_back  # (the caller had been answered)
    assert longest_quiet_ms(call, 6000, 10_000) < 2500  # never in silence while held
    assert len([e for e in back if isinstance(e, ResponseCreate)]) == 2  # the line, then the new answer
    assert {item for _, item in call.played if item.startswith("item_bot")} == {f"item_bot_{n}" for n in (1, 2, 3, 4)}


def test_what_the_caller_says_while_held_is_heard_by_the_next_engine() -> None:
    engine = MemoryEngine([Reply(GREETING)])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        await sleep_until(5000)
        engine.drop(back_after_ms=4000)
        call.speak(6000, 1500)  # "hello? are you there? I wanted to ask about my bill"
        await hang_up_at(call, 15000)

    outcome, _, decided = run_with_fallback(engine, caller)
    assert outcome == "caller_hung_up" and decided == [Decision.ENGINE_LOST, Decision.ENGINE_BACK]
    back = engine.session(1)
    held = b"".join(e.audio for e in back[:12] if isinstance(e, InputAudioBufferAppend))
    assert len(held) >= 1500 * 8  # the 1.5 s said while held (mu-law: 8 bytes a ms), sent before live audio
    assert bot_config().engine_back not in engine.said()  # no "please go on": the engine answers what it heard


def test_the_turn_made_of_what_was_said_while_held_is_answered_not_taken_for_echo() -> None:
    """The new engine's VAD makes a turn of the held audio while the hold sounds still play. The
    edge's own detector never saw those frames (there was no engine to send them to), so the turn
    looked like the bot's echo and was deleted: the caller's question went unanswered (bench/faults.py)."""
    engine = MemoryEngine([Reply(GREETING), Reply("Sure, let me look at your bill.")])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        await sleep_until(5000)
        engine.drop(back_after_ms=4000)
        call.speak(6000, 1500)  # "so, um, I wanted to ask about my last bill"
        await sleep_until(9000)
        engine.caller_turn("So, um, I wanted to ask about my last bill.", 9300, 600, "item_held")
        await hang_up_at(call, 16000)

    outcome, _, _ = run_with_fallback(engine, caller)
    assert outcome == "caller_hung_up"
    back = engine.session(1)
    assert "item_held" not in [e.item_id for e in back if isinstance(e, ConversationItemDelete)]
    assert any(isinstance(e, ResponseCreate) for e in back), [type(e).__name__ for e in back]


def test_a_reply_cut_off_by_the_lost_engine_is_given_by_the_next_one() -> None:
    engine = MemoryEngine([Reply(GREETING), Reply(LONG_GREETING)])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        says(call, engine, "Tell me about your plans.", 3000, 1000, "item_c1")
        await sleep_until(5000)  # mid-reply
        engine.drop(back_after_ms=1000)
        await hang_up_at(call, 20000)

    outcome, call, decided = run_with_fallback(engine, caller)
    assert outcome == "caller_hung_up" and decided == [Decision.ENGINE_LOST, Decision.ENGINE_BACK]
    back = engine.session(1)
    assert [e.item.role for e in back if isinstance(e, ConversationItemCreate)] == ["assistant", "user"]  # type: ignore[union-attr]
    asked = [e for e in back if isinstance(e, ResponseCreate)]
    assert asked[0].response is None, engine.said()  # an answer, not the "go on" line
    assert call.played_ms("item_bot_3") > 0  # and it was heard


def test_a_new_engine_slow_to_answer_the_replayed_question_gets_the_chime_meanwhile() -> None:
    """The engine dies as it begins its answer; a standby is back within a second but takes 5 s to
    answer the replayed question (it had not prepared this call's instructions: bench/faults.py saw
    4.9 s of silence): the chime goes on until the answer plays, and stops for it."""
    engine = MemoryEngine([Reply(GREETING), Reply(LONG_GREETING), Reply("Your order ships tomorrow.", think_ms=5000)])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        says(call, engine, "Where is my order?", 3000, 1000, "item_c1")
        await sleep_until(5000)  # its answer just begun
        engine.drop(back_after_ms=800)
        await hang_up_at(call, 18000)

    outcome, call, decided = run_with_fallback(engine, caller)
    assert outcome == "caller_hung_up" and decided == [Decision.ENGINE_LOST, Decision.ENGINE_BACK]
    answer = min(ms for ms, item in call.played if item == "item_bot_3")
    assert 10_000 < answer < 12_000, answer  # (reconnected ~5 s before it)
    assert longest_quiet_ms(call, 5000, answer) < 2500
    chimes = [ms for ms, item in call.played if item == "fallback_chime"]
    assert any(ms > answer - 3000 for ms in chimes) and not any(ms > answer for ms in chimes), (chimes, answer)


def test_no_engine_within_the_window_ends_the_call_with_an_apology() -> None:
    engine = MemoryEngine([Reply(GREETING)])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        await sleep_until(5000)
        engine.drop(back_after_ms=None)
        await hang_up_at(call, 60000)

    outcome, call, decided = run_with_fallback(engine, caller, transfer_target=None)
    assert outcome == "engine_lost" and decided == [Decision.ENGINE_LOST, Decision.ENGINE_GONE]
    assert call.played_ms("fallback_sorry") == 3000
    assert call.hung_up_at is not None and 16_000 <= call.hung_up_at < 17_000  # 8 s window, 3 s apology
    assert longest_quiet_ms(call, 5000, call.hung_up_at - 500) < 2500
    assert engine.refused > 5 and call.transfers == []


def test_no_engine_and_a_transfer_target_hands_the_caller_to_a_person() -> None:
    engine = MemoryEngine([Reply(GREETING)])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        await sleep_until(5000)
        engine.drop(back_after_ms=None)
        await call.referred.wait()
        call.transfer_status(200)
        await hang_up_at(call, 60000)

    outcome, call, decided = run_with_fallback(engine, caller)
    assert outcome == "transferred" and decided == [Decision.ENGINE_LOST, Decision.ENGINE_GONE, Decision.TRANSFER]
    assert call.played_ms("fallback_transfer") == 2000
    [(target, headers)] = call.transfers
    assert target == "sip:agent@127.0.0.1" and headers["X-Voicebot-Reason"] == "technical problem"


def test_an_engine_that_is_lost_without_fetched_lines_still_fills_the_wait_with_a_chime() -> None:
    engine = MemoryEngine([Reply(GREETING)])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        await sleep_until(5000)
        engine.drop(back_after_ms=None)
        await hang_up_at(call, 60000)

    outcome, call, decided = run_call(engine, caller, bot=bot_config(transfer_target=None))
    assert outcome == "engine_lost" and decided == [Decision.ENGINE_LOST, Decision.ENGINE_GONE]
    assert call.played_ms("fallback_hold") > 0 and call.played_ms("fallback_sorry") > 0  # (the chime)
    assert call.hung_up_at is not None and longest_quiet_ms(call, 5000, call.hung_up_at - 500) < 2500


def test_a_handler_raising_fails_the_call_with_outcome_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    engine = MemoryEngine([Reply(GREETING)])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        await sleep_until(5000)
        engine.emit({"type": "response.created"})  # no "response": the handler meets a KeyError
        await hang_up_at(call, 30000)

    with caplog.at_level(logging.ERROR, logger="bot.edge.session"):
        outcome, call, decided = run_call(engine, caller)
    assert outcome == "error" and decided == []
    assert call.hung_up_at is not None and call.hung_up_at < 5100
    [record] = [r for r in caplog.records if r.exc_info]
    assert "call call-1 failed" in record.getMessage() and record.exc_info and record.exc_info[0] is KeyError


def test_a_keypad_entry_is_a_turn_that_interrupts_the_bot() -> None:
    engine = MemoryEngine([Reply(LONG_GREETING), Reply("Thanks, I have your account number.")])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        await sleep_until(1500)
        for digit in "4821#":
            call.press(digit)
            await asyncio.sleep(0.2)
        await hang_up_at(call, 9000)

    outcome, _, decided = run_call(engine, caller)
    assert outcome == "caller_hung_up" and decided == [Decision.INTERRUPTED]
    assert engine.truncates() and isinstance(engine.truncates()[0], ConversationItemTruncate)
    texts = [e for e in engine.received if getattr(e, "type", "") == "conversation.item.create"]
    assert any("4821" in str(e) for e in texts)
    assert len(engine.of_type(ResponseCreate)) == 2


def test_a_caller_whose_audio_stops_is_hung_up_on_after_the_media_timeout() -> None:
    """A phone that died or lost its network sends no BYE: without RTP for media_timeout_s, the
    edge ends the call itself (a BYE), recorded as media_timeout."""
    engine = MemoryEngine([Reply(GREETING)])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        await hang_up_at(call, 60_000)  # never reached

    line = MemoryCall(rtp_stops_at=3000)
    outcome, call, _ = run_call(engine, caller, bot=bot_config(media_timeout_s=5.0), call=line)
    assert outcome == "media_timeout"
    assert call.hung_up_at is not None and 8000 <= call.hung_up_at <= 8500, call.hung_up_at
    assert engine.closed


def test_an_answer_never_acked_is_ended_after_the_ack_timeout() -> None:
    """A scanner or a spoofed INVITE never ACKs the 200: the line is freed after ack_timeout_s, not
    after pjsip's 32 s of retransmissions, and the record says no_ack. A caller who ACKs is kept."""
    engine = MemoryEngine([Reply(GREETING)])

    async def caller(call: MemoryCall, engine: MemoryEngine) -> None:
        await hang_up_at(call, 60_000)  # never reached

    outcome, call, _ = run_call(engine, caller, bot=bot_config(ack_timeout_s=4.0), call=MemoryCall(acks=False))
    assert outcome == "no_ack"
    assert call.hung_up_at is not None and 4000 <= call.hung_up_at <= 4300, call.hung_up_at

    async def short_call(call: MemoryCall, engine: MemoryEngine) -> None:
        await hang_up_at(call, 6000)

    outcome, call, _ = run_call(MemoryEngine([Reply(GREETING)]), short_call, bot=bot_config(ack_timeout_s=4.0))
    assert outcome == "caller_hung_up"
