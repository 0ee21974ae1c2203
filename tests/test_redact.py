from __future__ import annotations

import logging

import pytest

from bot.redact import RedactingFilter, redact


@pytest.mark.parametrize(
    ("said", "stored"),
    [
        ("my card is 4111 1111 1111 1111 thanks", "my card is [card ending 1111] thanks"),
        ("card 5500-0000-0000-0004", "card [card ending 0004]"),
        ("4012888888881881", "[card ending 1881]"),
        ("the security code is 123", "the security code is [redacted]"),
        ("my social is 123-45-6789", "my social is [redacted]"),
        ("order 45721 and account 7 7 3 1", "order 45721 and account 7 7 3 1"),  # not secrets
        ("1234 5678 9012 3456", "1234 5678 9012 3456"),  # fails Luhn: a reference, not a card
    ],
)  # fmt: skip
def test_redact(said: str, stored: str) -> None:
    assert redact(said) == stored


def test_log_records_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.redact")
    handler = caplog.handler
    handler.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO):
            log.info("caller said %s", "4111 1111 1111 1111")
        assert "4111 1111" not in caplog.text and "[card ending 1111]" in caplog.text
    finally:
        handler.removeFilter(handler.filters[-1])
