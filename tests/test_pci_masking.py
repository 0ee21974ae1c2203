"""A caller reads out a card number and a security code on a real call (our TTS, G.711, whisper):
neither reaches Redis, its append-only file or the logs except masked."""

from __future__ import annotations

import asyncio
import re

from tests.stack import Stack, call_id_of, call_of, softphone

CARD_DIGITS = "4111111111111111"


def card_digits_in(data: bytes) -> bool:
    """Any 8 of the card's digits in a row, whatever separated them (spaces, commas, dots, dashes)."""
    return CARD_DIGITS[:8].encode() in re.sub(rb"[\s,.\-]", b"", data)


async def test_a_card_number_read_out_on_a_call_is_stored_and_logged_only_masked(stack: Stack) -> None:
    code, out = await softphone(stack.uri, "Hi, I'd like to pay my bill with a card, please.",
                                "Okay, the card number is 4111 1111 1111 1111.",
                                "And the security code on the back is 7 3 7.")  # fmt: skip
    assert code == 0, out
    _, lines = await call_of(stack, call_id_of(out))
    said = " ".join(line["text"] for line in lines if line["role"] == "caller")
    assert "card ending" in said, said  # whisper heard a card number, and it was masked
    assert not card_digits_in(said.encode()), said
    assert not re.search(r"\b7\W*3\W*7\b", said), said
    await asyncio.sleep(1.5)  # redis appends with appendfsync everysec
    aof = b"".join(p.read_bytes() for p in (stack.run_dir / "redis").rglob("*") if p.is_file())
    assert b"card ending" in aof and not card_digits_in(aof)
    log = (stack.run_dir / "stack.log").read_bytes()
    assert not card_digits_in(log)
