"""The campaign runner's decisions (bot/campaign.py) against a real Redis, with the workers' side
played by hand: what it dials when, what it retries, what it never dials."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.campaign import Campaign, Contact, Plan, Window, contacts_from_csv
from bot.dialer import STREAM, status
from bot.state import text_dict


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url.rsplit("/", 1)[0] + "/7")
    await client.flushdb()
    yield client
    await client.aclose()


async def queued(redis: Redis) -> list[str]:
    """The uris asked for so far, oldest first."""
    entries: Any = await redis.xrange(STREAM)
    return [text_dict(fields)["uri"] for _, fields in entries]


async def end(redis: Redis, campaign: Campaign, row: int, outcome: str, *, answered: bool = False) -> None:
    """What a worker writes when that contact's call is over."""
    dial_id = text_dict(await redis.hgetall(f"campaign:{campaign.plan.name}:{row}"))["dial_id"]
    fields: dict[Any, Any] = {"state": "ended", "outcome": outcome, **({"answered": "1"} if answered else {})}
    await redis.hset(f"dial:{dial_id}", mapping=fields)


def test_a_contact_list_needs_numbers_and_keeps_the_other_columns_as_variables() -> None:
    contacts = contacts_from_csv("number,name,tz\nsip:1@h,Ana,Europe/Paris\n,Nobody,\n sip:2@h ,Bo,\n")
    assert contacts == [Contact(1, "sip:1@h", {"name": "Ana"}, "Europe/Paris"), Contact(3, "sip:2@h", {"name": "Bo"})]
    with pytest.raises(ValueError, match="number"):
        contacts_from_csv("phone,name\n1,Ana\n")


def test_the_window_is_the_contacts_own_local_time() -> None:
    window = Window.parse("09:00-20:00")
    noon_utc = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC).timestamp()
    assert window.allows(noon_utc, "Europe/Paris")  # 13:00 there
    assert not window.allows(noon_utc, "America/Los_Angeles")  # 04:00 there
    assert not window.allows(noon_utc, "Asia/Tokyo")  # 21:00 there


async def test_concurrency_pace_retries_and_the_do_not_call_list(redis: Redis) -> None:
    contacts = [Contact(i, f"sip:{i}@h") for i in range(1, 7)]
    clock = Clock(1000.0)
    plan = Plan("t", concurrency=2, pace_per_s=1.0, retries=1, retry_delay_s=30, do_not_call=frozenset({"sip:6@h"}))
    campaign = Campaign(redis, plan, contacts, clock)
    for row in range(1, 7):
        await redis.hsetnx(f"campaign:t:{row}", "state", "pending")

    await campaign._step()
    assert await queued(redis) == ["sip:1@h"]  # one a second
    clock.now += 1.0
    await campaign._step()
    assert await queued(redis) == ["sip:1@h", "sip:2@h"]
    clock.now += 1.0
    progress = await campaign._step()
    assert len(await queued(redis)) == 2 and progress.in_flight == 2  # two at once, no more
    assert (await redis.hgetall("campaign:t:6"))[b"outcome"] == b"do_not_call"  # never dialed

    await end(redis, campaign, 1, "busy")
    await end(redis, campaign, 2, "callee_hung_up", answered=True)
    progress = await campaign._step()
    assert progress.outcomes["answered"] == 1 and await queued(redis) == ["sip:1@h", "sip:2@h", "sip:3@h"]
    clock.now += 31.0  # the busy one's delay is over
    for _ in range(3):
        await campaign._step()
        clock.now += 1.0
    assert (await queued(redis)).count("sip:1@h") == 2  # tried again, once
    await end(redis, campaign, 1, "busy")
    await campaign._step()
    state = await redis.hgetall("campaign:t:1")
    assert state[b"state"] == b"done" and state[b"outcome"] == b"busy" and state[b"attempts"] == b"2"


async def test_a_contact_whose_request_was_lost_in_a_crash_is_asked_for_once_under_the_same_id(redis: Redis) -> None:
    contacts = [Contact(1, "sip:1@h")]
    campaign = Campaign(redis, Plan("c", retries=0), contacts, Clock(0.0))
    await redis.hset("campaign:c:1", mapping={"state": "queued", "dial_id": "abc123", "attempts": 1})  # then killed
    await campaign._step()
    await campaign._step()
    assert await queued(redis) == ["sip:1@h"]
    assert (await status(redis, "abc123"))["state"] == "queued"
