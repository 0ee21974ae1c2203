from __future__ import annotations

import pytest

from bot.engine.conversation import Content, Conversation, ConversationError, Item
from bot.realtime.dialect import Dialect


def spoken(sentences: list[tuple[float, str]]) -> Content:
    c = Content("audio", transcript=" ".join(s for _, s in sentences))
    text = ""
    for end, sentence in sentences:
        text = (text + " " + sentence).strip()
        c.marks.append((end, text))
    c.audio_ms = sentences[-1][0]
    return c


def test_truncate_keeps_heard_sentences_and_a_share_of_the_cut_one() -> None:
    c = spoken([(1000, "One two three."), (3000, "four five six seven eight nine ten eleven.")])
    c.truncate(2000)
    assert c.transcript == "One two three. four five six seven"
    assert c.audio_ms == 2000


def test_truncate_at_zero_keeps_nothing() -> None:
    c = spoken([(1000, "Hello there.")])
    c.truncate(0)
    assert c.transcript == ""


def test_insert_after_previous_and_root() -> None:
    conv = Conversation()
    assert conv.add(Item("a", "message", role="user")) is None
    assert conv.add(Item("b", "message", role="user")) == "a"
    assert conv.add(Item("c", "message", role="user"), previous_item_id="a") == "a"
    assert conv.add(Item("r", "message", role="user"), previous_item_id="root") is None
    assert [i.id for i in conv] == ["r", "a", "c", "b"]
    with pytest.raises(ConversationError):
        conv.add(Item("x", "message", role="user"), previous_item_id="missing")


def test_bounded_forgets_oldest() -> None:
    conv = Conversation(max_items=3)
    for name in "abcde":
        conv.add(Item(name, "message", role="user"))
    assert [i.id for i in conv] == ["c", "d", "e"]


def test_ga_content_types() -> None:
    item = Item("i", "message", role="assistant", content=[Content("audio", transcript="hi")])
    assert item.to_wire(Dialect.GA)["content"][0]["type"] == "output_audio"
    assert item.to_wire(Dialect.BETA)["content"][0]["type"] == "audio"
