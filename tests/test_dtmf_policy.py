from __future__ import annotations

from bot.turn_policies.dtmf import DtmfCollector


def test_hash_ends_an_entry() -> None:
    c = DtmfCollector()
    assert [c.key(d, t) for t, d in enumerate("45721")] == [None] * 5
    assert c.key("#", 6) == "45721"
    assert c.key("#", 7) is None  # nothing keyed: no empty entry


def test_pause_ends_an_entry_and_star_clears() -> None:
    c = DtmfCollector(inter_digit_ms=2000)
    c.key("1", 0)
    c.key("*", 100)
    c.key("9", 200)
    assert c.due(2100) is None
    assert c.due(2200) == "9"
    assert c.due(5000) is None
