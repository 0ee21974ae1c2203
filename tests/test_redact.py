from __future__ import annotations

import json
import logging

import pytest

from bot.redact import RedactingFilter, redact, redact_arguments, secrets


@pytest.mark.parametrize(
    ("said", "stored"),
    [
        ("my card is 4111 1111 1111 1111 thanks", "my card is [card ending 1111] thanks"),
        ("card 5500-0000-0000-0004", "card [card ending 0004]"),
        ("4012888888881881", "[card ending 1881]"),
        # as whisper writes digits read out: thousands commas (with a digit too many), dots, words
        ("Yeah it's 4,111,111,111,111,111,111.", "Yeah it's [card ending 1111]."),
        ("Um, 4.111.1111.1111.1111, I think.", "Um, [card ending 1111], I think."),
        ("Four one one one, one one one one, one one one one, one one one one.", "[card ending 1111]."),
        ("It's double four one one 1111 one one one one 1111", "It's [card ending 1111]"),
        ("5500 0000 0000 0005", "[card ending 0005]"),  # a digit misheard (fails Luhn): still a card
        ("the security code is 123", "the security code is [redacted]"),
        ("And the CVV, um, it's 7 3 7.", "And the CVV, um, it's [redacted]."),
        ("the three digits on the back are four two one", "the three digits on the back are [redacted]"),
        ('pay_with_card {"security_code": "737"}', 'pay_with_card {"security_code": "[redacted]"}'),  # a logged call
        ("my social is 123-45-6789", "my social is [redacted]"),
        ("Social security number, uh, 123 45 6789.", "Social security number, uh, [redacted]."),
        ("order 45721 and account 7 7 3 1", "order 45721 and account 7 7 3 1"),  # not secrets
        ("Can you call me back on 555-123-4567?", "Can you call me back on 555-123-4567?"),
        ("I'd like to pay $1,250.75 today and my zip is 90210", "I'd like to pay $1,250.75 today and my zip is 90210"),
        ("someone said one thing", "someone said one thing"),
    ],
)  # fmt: skip
def test_redact(said: str, stored: str) -> None:
    assert redact(said) == stored


def test_secrets_are_found_with_their_kind_and_digits() -> None:
    said = "card four one one one 1111 1111 1111, security code 123"
    assert [(s.kind, s.digits) for s in secrets(said)] == [("card", "4111111111111111"), ("code", "123")]


def test_a_tool_calls_secret_arguments_are_masked_by_their_names() -> None:
    """The card and its security code as the brain hands them to pay_with_card (a bare "737" has no
    cue once it is JSON): both masked in the line the transcript keeps; other arguments as they were."""
    said = json.dumps({"security_code": "737", "card_number": "4111111111111111", "amount": 120.0, "cvv": "",
                       "zip_code": "10001"})  # fmt: skip
    assert json.loads(redact_arguments(said)) == {"security_code": "[redacted]", "card_number": "[card ending 1111]",
                                                  "amount": 120.0, "cvv": "", "zip_code": "10001"}  # fmt: skip
    assert redact_arguments("not json, card 4111 1111 1111 1111") == "not json, card [card ending 1111]"


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
