"""What a call's flows know: who the caller is and whether they proved it. `flow:<call id>` in Redis."""

from __future__ import annotations

import re

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from bot.state import text_dict
from flows.registry import CallContext

TTL_S = 24 * 3600  # flow state outlives the call for a day (for records and follow-ups)
_PHONE = re.compile(r"sip:(\+?\d{6,15})@")


def caller_phone(context: CallContext) -> str | None:
    """The caller ID's number, from a SIP URI like `<sip:+15550100@trunk>`."""
    m = _PHONE.search(context.caller)
    return m.group(1) if m else None


class FlowState:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, call_id: str) -> dict[str, str]:
        return text_dict(await self._redis.hgetall(f"flow:{call_id}"))

    async def update(self, call_id: str, **fields: str) -> None:
        mapping: dict[FieldT, EncodableT] = {
            k: v for k, v in fields.items()
        }  # a comprehension: dict() keeps the narrower key type
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(f"flow:{call_id}", mapping=mapping)
            pipe.expire(f"flow:{call_id}", TTL_S)
            await pipe.execute()

    async def verified_customer(self, call_id: str) -> str | None:
        state = await self.get(call_id)
        return state.get("customer_id") if state.get("verified") == "yes" else None
