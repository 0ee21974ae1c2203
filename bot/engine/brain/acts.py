"""Dialog acts: what a caller's words do besides asking for a tool — yes, no, "say that again",
"what can you do?", "that's all, bye", thanks, hello. Pure regular expressions over recogniser text."""

from __future__ import annotations

import re
from typing import Literal

Act = Literal["yes", "no", "repeat", "help", "done", "thanks", "greeting", "wait"]

_NOT_NO = re.compile(r"\bno (?:problem|worries|rush|doubt)\b", re.I)
_PATTERNS: dict[Act, re.Pattern[str]] = {
    "yes": re.compile(
        r"\b(yes|yeah|yep|yup|yah|ya|sure|correct|right|ok|okay|alright|all right|go ahead|please do|do it|confirm|"
        r"confirmed|absolutely|definitely|sounds good|sounds great|go for it|that works|perfect|of course|"
        r"mm-?hmm|uh-?huh|affirmative|please|exactly|indeed|that's it|that is it|fine|great|do that)\b",
        re.I,
    ),
    "no": re.compile(
        r"\b(no|nope|nah|don't|do not|dont|cancel that|stop|wrong|not right|never ?mind|hold off|not yet|"
        r"scratch that|negative|not really|not quite|incorrect|forget it)\b",
        re.I,
    ),
    "repeat": re.compile(
        r"\b(say (?:that|it) again|repeat (?:that|it|yourself)|what was that|come again|pardon|one more time|"
        r"didn't (?:catch|hear|get) (?:that|it|you)|what did you say|say again|sorry, what|again please)\b|^\W*(?:sorry|what|huh|pardon)\W*$",
        re.I,
    ),
    "help": re.compile(
        r"\b(what (?:can|do) you (?:do|help)|what (?:else )?can you help|what are (?:my|the) options|"
        r"what (?:sort|kind|kinds|sorts) of (?:things|stuff)|how can you help|what can i (?:do|ask|say)|"
        r"what do you do|who am i (?:talking|speaking) to|what are you able)\b|^\W*help\W*$",
        re.I,
    ),
    "done": re.compile(
        r"\b(bye|goodbye|good-bye|that's (?:all|it|everything)|that is (?:all|it|everything)|nothing else|"
        r"i'm (?:all )?(?:good|set|done)|all set|have a (?:good|great|nice) (?:one|day|night|evening)|"
        r"that's all i (?:need|needed|wanted)|no,? thanks|no thank you|that'll be all|that will be all|"
        r"i'm finished|we're done|that covers it|take care)\b",
        re.I,
    ),
    "thanks": re.compile(r"\b(thanks|thank you|thank-you|cheers|appreciate it|much appreciated|ta)\b", re.I),
    "greeting": re.compile(
        r"^\W*(?:hello|hi|hey|hiya|good (?:morning|afternoon|evening)|hi there|hello there)\b", re.I
    ),
    "wait": re.compile(
        r"\b(hold on|hang on|one sec|one second|just a (?:sec|second|moment|minute)|give me a (?:sec|second|moment))\b",
        re.I,
    ),
}


def acts(text: str) -> set[Act]:
    """Every act the words perform; "yes" and "no" never both (a no wins: "yes, no wait")."""
    plain = _NOT_NO.sub(" ", text)  # "no problem" says no "no"
    found: set[Act] = {act for act, pattern in _PATTERNS.items() if pattern.search(plain)}
    if "no" in found:
        found.discard("yes")
    if "greeting" in found and len(text.split()) > 5:
        found.discard("greeting")
    return found
