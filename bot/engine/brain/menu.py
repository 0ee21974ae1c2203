"""Another phone system's menu, heard on a call we placed ("For billing, press 2. For sales, press
1."), and the option that serves the call's goal (a "Goal: ..." line of the instructions).

Menus are read from the recogniser's text after numbers.normalise: "for X press N", "press N for X",
"to X press N", "if you're calling about X press N"; star and pound too. The goal is matched to each
option's words by the session's sentence encoder, with the words they share as a tie-breaker; an
option must match clearly (`CHOOSE`), or the bot waits for more of the menu (or an operator).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from bot.engine.brain.numbers import normalise

Embed = Callable[[list[str]], Awaitable[np.ndarray]]
CHOOSE = 0.35  # cosine (plus shared words) an option needs to be chosen for the goal
_KEY = r"(\d|star|pound|hash|\*|#)"
_LABEL = r"([a-z][a-z' ,\-]{2,80}?)"
_LEAD = r"(?:for|to|if you(?:'re| are)(?:\s+calling)?(?:\s+(?:about|for|to))?|if you (?:want|would like|need) to)"
# (a full stop before "press" too: the recogniser often ends the sentence there, "For billing. Press 2.")
_LABEL_FIRST = re.compile(rf"\b{_LEAD}\s+{_LABEL}[,.;]?\s+(?:please\s+)?(?:press|dial|say or press)\s+{_KEY}\b", re.I)
_KEY_FIRST = re.compile(rf"\bpress\s+{_KEY}\s+(?:for|to)\s+{_LABEL}(?=[.,;!?]|\s+or\b|\s+press\b|$)", re.I)
# What a phone system says before its options: nothing to answer, the menu is coming.
_PREAMBLE = re.compile(
    r"\b(?:thank you for calling|thanks for calling|welcome to|you(?:'ve| have) reached|your call is important|"
    r"please listen carefully|(?:our )?(?:menu )?options have changed|this call may be (?:recorded|monitored)|"
    r"calls are recorded|for quality (?:and training )?purposes|please hold|please stay on the line)\b",
    re.I,
)
_GOAL = re.compile(r"^\s*goal\s*:\s*(.+)$", re.I | re.M)
_KEYS = {"star": "*", "pound": "#", "hash": "#"}
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "to",
        "for",
        "of",
        "and",
        "or",
        "your",
        "you",
        "our",
        "please",
        "with",
        "about",
        "on",
        "in",
        "is",
        "are",
        "be",
        "calling",
    ]
)


@dataclass(frozen=True)
class Option:
    key: str  # 0-9 * #
    label: str  # what the menu said it is for


def options(heard: str) -> list[Option]:
    """The menu's options in the order they were said (a key said twice: the first).

    A menu keeps one form, and its first option shows which: with the recogniser's sentence breaks
    in the wrong places, "For sales, press 1 for billing. Press 2 for support. Press 3." reads as
    label-first all through, and the key-first readings across those breaks ("press 1 for billing")
    are wrong. The other form still fills keys the first left out, where it reads other words."""
    text = normalise(heard)
    label_first = [(m.span(), Option(_key(m.group(2)), _clean(m.group(1)))) for m in _LABEL_FIRST.finditer(text)]
    key_first = [(m.span(), Option(_key(m.group(1)), _clean(m.group(2)))) for m in _KEY_FIRST.finditer(text)]
    first_of = [found[0][0][0] for found in (label_first, key_first) if found]
    if not first_of:
        return []
    primary, other = (
        (label_first, key_first) if label_first and label_first[0][0][0] == min(first_of) else (key_first, label_first)
    )
    found = list(primary)
    for span, option in other:
        if not any(span[0] < end and start < span[1] for (start, end), _ in primary):
            found.append((span, option))
    seen: dict[str, Option] = {}
    for _, option in sorted(found, key=lambda f: f[0][0]):
        seen.setdefault(option.key, option)
    return list(seen.values())


def preamble(heard: str) -> bool:
    """A phone system's opening words ("Thank you for calling Globex.", "Please listen carefully"),
    which a recogniser may end as a turn of its own before the options come."""
    return bool(_PREAMBLE.search(heard))


def goal(instructions: str) -> str | None:
    m = _GOAL.search(instructions)
    return m.group(1).strip() if m else None


async def choose(menu: list[Option], wanted: str, embed: Embed) -> Option | None:
    """The option for `wanted`, if one stands out; None: wait (the menu may go on, or offer an operator)."""
    if not menu:
        return None
    vectors = await embed([wanted, *(o.label for o in menu)])
    goal_vec, labels = vectors[0], vectors[1:]
    scores = [float(np.dot(goal_vec, v)) + 0.15 * _shared(wanted, o.label) for v, o in zip(labels, menu, strict=True)]
    best = int(np.argmax(scores))
    ranked = sorted(scores, reverse=True)
    if ranked[0] < CHOOSE or (len(ranked) > 1 and ranked[0] - ranked[1] < 0.05):
        return None
    return menu[best]


def _shared(a: str, b: str) -> int:
    return min(2, len(_words(a) & _words(b)))


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if w not in _STOP}


def _key(raw: str) -> str:
    return _KEYS.get(raw.lower(), raw)


def _clean(label: str) -> str:
    return re.sub(r"^(?:calling\s+)?(?:about|for|to)\s+", "", label.strip(" ,"), flags=re.I)
