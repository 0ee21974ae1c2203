"""Asking a Realtime engine to say one line, word for word.

The protocol has no verbatim verb: a client asks with `response.create` and instructions. The edge
asks every engine in these words (a cloud model follows them), and the offline brain reads the line
back with `line_to_say`: one definition of the convention for both sides.
"""

from __future__ import annotations

import re

_SAY = 'Say exactly this, word for word, and nothing else: "{text}"'
_LINE = re.compile(r'word for word, and nothing else: "(.*)"\Z', re.S)


def say_instructions(text: str) -> str:
    return _SAY.format(text=" ".join(text.replace('"', "'").split()))


def line_to_say(instructions: str) -> str | None:
    """The line `say_instructions` asked for, or None when these are other instructions."""
    found = _LINE.search(instructions)
    return found.group(1) if found else None
