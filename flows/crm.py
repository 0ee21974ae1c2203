"""The demo CRM, kept in Redis, seeded from a fixture.

Keys: `crm:customer:<id>`, `crm:phone:<phone>` (→ customer id), `crm:order:<id>`, `crm:invoice:<id>`,
`crm:customer:<id>:invoices` (set), `crm:appointment:<customer id>` (the next appointment),
`crm:payment:<idempotency key>` (one per payment, never overwritten), `crm:payments` (a log stream).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Protocol

from redis.asyncio import Redis

from bot.state import text, text_dict

FIXTURE = "fixtures/crm.json"


class CrmBackend(Protocol):
    """What the flows need from a CRM: the Redis demo (`Crm`) or a real one over HTTP (`HttpCrm`)."""

    async def order(self, order_id: str) -> dict[str, str] | None: ...
    async def customer(self, customer_id: str) -> dict[str, str] | None: ...
    async def customer_by_phone(self, phone: str) -> dict[str, str] | None: ...
    async def open_invoice(self, customer_id: str) -> dict[str, str] | None: ...
    async def payment(self, key: str) -> str | None: ...
    async def pay(self, key: str, invoice_id: str, amount: float, reference: str) -> tuple[str, bool]: ...
    async def appointment(self, customer_id: str) -> dict[str, str] | None: ...
    async def set_appointment(self, customer_id: str, date: str, time: str) -> None: ...
    async def cancel_appointment(self, customer_id: str) -> bool: ...


class Crm:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def order(self, order_id: str) -> dict[str, str] | None:
        return await self._hash(f"crm:order:{order_id}")

    async def customer(self, customer_id: str) -> dict[str, str] | None:
        return await self._hash(f"crm:customer:{customer_id}")

    async def customer_by_phone(self, phone: str) -> dict[str, str] | None:
        customer_id = await self._redis.get(f"crm:phone:{phone}")
        return await self.customer(text(customer_id)) if customer_id else None

    async def open_invoice(self, customer_id: str) -> dict[str, str] | None:
        """The customer's invoice with money still due, if any."""
        for invoice_id in sorted(text(i) for i in await self._redis.smembers(f"crm:customer:{customer_id}:invoices")):
            invoice = await self._hash(f"crm:invoice:{invoice_id}")
            if invoice and float(invoice.get("amount_due", 0)) > 0:
                return invoice
        return None

    async def payment(self, key: str) -> str | None:
        """The reference of the payment made under idempotency `key`, if any."""
        reference = await self._redis.get(f"crm:payment:{key}")
        return text(reference) if reference else None

    async def pay(self, key: str, invoice_id: str, amount: float, reference: str) -> tuple[str, bool]:
        """Record a payment once per idempotency `key`; returns (reference, new). A repeated key
        returns the first payment's reference and charges nothing."""
        created = await self._redis.set(f"crm:payment:{key}", reference, nx=True)
        if not created:
            return text(await self._redis.get(f"crm:payment:{key}")), False
        await self._redis.hincrbyfloat(f"crm:invoice:{invoice_id}", "amount_due", -amount)
        await self._redis.xadd("crm:payments", {"reference": reference, "invoice_id": invoice_id, "amount": amount})
        return reference, True

    async def appointment(self, customer_id: str) -> dict[str, str] | None:
        return await self._hash(f"crm:appointment:{customer_id}")

    async def set_appointment(self, customer_id: str, date: str, time: str) -> None:
        await self._redis.hset(f"crm:appointment:{customer_id}", mapping={"date": date, "time": time})

    async def cancel_appointment(self, customer_id: str) -> bool:
        return bool(await self._redis.delete(f"crm:appointment:{customer_id}"))

    async def _hash(self, key: str) -> dict[str, str] | None:
        data = await self._redis.hgetall(key)
        return text_dict(data) if data else None


async def seed(redis: Redis, fixture: dict[str, Any] | None = None) -> int:
    """Load the fixture into Redis (idempotent for records; re-seeding resets amounts due)."""
    data = fixture or json.loads(resources.files("flows").joinpath(FIXTURE).read_text())
    count = 0
    async with redis.pipeline(transaction=True) as pipe:
        for kind in ("customers", "orders", "invoices"):
            for record in data.get(kind, []):
                pipe.hset(f"crm:{kind[:-1]}:{record['id']}", mapping={k: str(v) for k, v in record.items()})
                count += 1
        for customer in data.get("customers", []):
            pipe.set(f"crm:phone:{customer['phone']}", customer["id"])
        for invoice in data.get("invoices", []):
            pipe.sadd(f"crm:customer:{invoice['customer_id']}:invoices", invoice["id"])
        await pipe.execute()
    return count
