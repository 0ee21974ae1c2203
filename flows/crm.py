"""The demo CRM, kept in Redis (`crm:order:<id>`, `crm:customer:<id>` hashes), seeded from a fixture."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from redis.asyncio import Redis

from bot.state import text_dict

FIXTURE = "fixtures/crm.json"


class Crm:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def order(self, order_id: str) -> dict[str, str] | None:
        data = await self._redis.hgetall(f"crm:order:{order_id}")
        return text_dict(data) if data else None

    async def customer(self, customer_id: str) -> dict[str, str] | None:
        data = await self._redis.hgetall(f"crm:customer:{customer_id}")
        return text_dict(data) if data else None


async def seed(redis: Redis, fixture: dict[str, Any] | None = None) -> int:
    """Load the fixture into Redis (idempotent); returns how many records were written."""
    data = fixture or json.loads(resources.files("flows").joinpath(FIXTURE).read_text())
    count = 0
    async with redis.pipeline(transaction=True) as pipe:
        for kind in ("customers", "orders"):
            for record in data.get(kind, []):
                pipe.hset(f"crm:{kind[:-1]}:{record['id']}", mapping={k: str(v) for k, v in record.items()})
                count += 1
        await pipe.execute()
    return count
