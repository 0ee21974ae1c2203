"""A real CRM plugged in by configuration: every lookup is an HTTP POST to `VOICEBOT_CRM_URL`.

Request: `{"op": "<method>", "args": {...}}`; response: `{"result": ...}`. Each request is signed
with HMAC-SHA256 over "<unix time>.<body>" in `X-Voicebot-Signature: t=<time>,v1=<hex>`, so the CRM
can check origin and freshness. Each attempt has a timeout; connection errors and 5xx answers are
retried with backoff. Payments carry their idempotency key, so a retried payment is charged once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

import aiohttp

from flows.registry import FlowError

RETRY_BACKOFF_S = (0.1, 0.3, 0.8)


class CrmUnavailable(FlowError, ConnectionError):
    """The CRM did not answer usefully after the retries."""

    retryable = True


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, now: float, tolerance_s: float = 300) -> bool:
    """For CRMs (and tests): is `header` a fresh, valid signature of `body`?"""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


class HttpCrm:
    def __init__(self, url: str, secret: str, *, timeout_s: float = 2.0, retries: int = 2) -> None:
        self.url = url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._retries = retries
        self._session: aiohttp.ClientSession | None = None

    async def _call(self, op: str, **args: Any) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        body = json.dumps({"op": op, "args": args}).encode()
        last = "no attempt"
        for attempt in range(self._retries + 1):
            headers = {"Content-Type": "application/json",
                       "X-Voicebot-Signature": sign(self._secret, body, int(time.time()))}  # fmt: skip
            try:
                async with self._session.post(self.url, data=body, headers=headers) as response:
                    if response.status < 500:
                        if response.status != 200:
                            raise CrmUnavailable(f"CRM refused {op}: HTTP {response.status}")
                        return (await response.json())["result"]
                    last = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            if attempt < self._retries:
                await asyncio.sleep(RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)])
        raise CrmUnavailable(f"CRM {op} failed after {self._retries + 1} attempts: {last}")

    async def order(self, order_id: str) -> dict[str, str] | None:
        return await self._call("order", order_id=order_id)  # type: ignore[no-any-return]

    async def customer(self, customer_id: str) -> dict[str, str] | None:
        return await self._call("customer", customer_id=customer_id)  # type: ignore[no-any-return]

    async def customer_by_phone(self, phone: str) -> dict[str, str] | None:
        return await self._call("customer_by_phone", phone=phone)  # type: ignore[no-any-return]

    async def open_invoice(self, customer_id: str) -> dict[str, str] | None:
        return await self._call("open_invoice", customer_id=customer_id)  # type: ignore[no-any-return]

    async def payment(self, key: str) -> str | None:
        return await self._call("payment", key=key)  # type: ignore[no-any-return]

    async def pay(self, key: str, invoice_id: str, amount: float, reference: str) -> tuple[str, bool]:
        ref, new = await self._call("pay", key=key, invoice_id=invoice_id, amount=amount, reference=reference)
        return str(ref), bool(new)

    async def appointment(self, customer_id: str) -> dict[str, str] | None:
        return await self._call("appointment", customer_id=customer_id)  # type: ignore[no-any-return]

    async def set_appointment(self, customer_id: str, date: str, time: str) -> None:
        await self._call("set_appointment", customer_id=customer_id, date=date, time=time)

    async def cancel_appointment(self, customer_id: str) -> bool:
        return bool(await self._call("cancel_appointment", customer_id=customer_id))

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
