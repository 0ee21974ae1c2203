"""OpenAI GA session and response fields on our engine: max_output_tokens cuts the reply where the
real API would (status incomplete, reason max_output_tokens), truncation is taken and echoed, stored
prompts are refused by name."""

from __future__ import annotations

from tests.client import RawClient

LONG = ("Our opening hours are Monday to Friday, from 8 am to 6 pm. On Saturdays we open at ten. "
        "On Sundays and public holidays the shop is closed, but the phone line stays open.")  # fmt: skip


async def test_a_reply_over_its_token_budget_is_cut_and_reported_incomplete(ga: RawClient) -> None:
    await ga.send({"type": "response.create", "response": {"instructions": f'Say "{LONG}"', "max_output_tokens": 12,
                                                           "output_modalities": ["text"]}})  # fmt: skip
    done = (await ga.until("response.done"))[-1]["response"]
    assert done["status"] == "incomplete" and done["status_details"]["reason"] == "max_output_tokens", done
    said = done["output"][0]["content"][0]["text"]
    assert LONG.startswith(said) and 0 < len(said) <= 12 * 4, said
    await ga.send(
        {"type": "response.create", "response": {"instructions": f'Say "{LONG}"', "output_modalities": ["text"]}}
    )
    done = (await ga.until("response.done"))[-1]["response"]
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == LONG


async def test_the_sessions_budget_applies_to_every_reply_and_is_checked(ga: RawClient) -> None:
    await ga.send({"type": "session.update", "session": {"type": "realtime", "max_output_tokens": 8}})
    assert (await ga.until("session.updated"))[-1]["session"]["max_output_tokens"] == 8
    await ga.send({"type": "response.create", "response": {"instructions": f'Say "{LONG}"'}})
    done = (await ga.until("response.done"))[-1]["response"]
    assert done["status"] == "incomplete", done
    await ga.send({"type": "session.update", "session": {"type": "realtime", "max_output_tokens": 0}, "event_id": "e1"})
    error = (await ga.until("error"))[-1]["error"]
    assert error["param"] == "session.max_output_tokens" and error["event_id"] == "e1"


async def test_truncation_is_taken_and_stored_prompts_are_refused(ga: RawClient) -> None:
    ratio = {"type": "retention_ratio", "retention_ratio": 0.7}
    await ga.send({"type": "session.update", "session": {"type": "realtime", "truncation": ratio}})
    assert (await ga.until("session.updated"))[-1]["session"]["truncation"] == ratio
    await ga.send({"type": "session.update", "session": {"type": "realtime", "truncation": "sometimes"}})
    assert (await ga.until("error"))[-1]["error"]["param"] == "session.truncation"
    await ga.send({"type": "session.update", "session": {"type": "realtime", "prompt": {"id": "pmpt_123"}}})
    error = (await ga.until("error"))[-1]["error"]
    assert error["param"] == "session.prompt" and error["code"] == "unsupported_parameter"
