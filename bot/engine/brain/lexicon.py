"""Words that mean the same thing on a service call, so "drop my appointment" meets `cancel_appointment`.

Each group is one concept; its first word names it. The groups are everyday English for what callers
ask of a service business, not phrases of any one tool set. Words are stemmed (snowball) on both
sides; a multi-word entry matches as a phrase.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

# Verbs: what the caller wants done. A tool's verb is the first word of its name.
VERBS: tuple[tuple[str, ...], ...] = (
    ("get", "check", "look up", "lookup", "find", "tell", "know", "see", "show", "track", "status", "wonder",
     "chase", "chasing", "news", "update on", "any word", "ready", "on time", "landed", "delay", "query", "search",
     "is it done", "done yet", "ready yet", "how much"),
    ("pay", "payment", "settle", "pay off", "put money", "take a payment", "charge my card"),
    ("cancel", "drop", "call off", "scrap", "won't make", "can't make", "cannot make", "not make it", "don't need",
     "no longer need", "get rid of", "remove", "delete", "terminate", "can't travel", "cannot travel"),
    ("move", "reschedule", "push", "change", "shift", "bring forward", "postpone", "rearrange", "different day",
     "another day", "different time", "another time", "modify"),
    ("book", "schedule", "make an appointment", "set up", "arrange", "come out", "come in", "reserve",
     "send someone", "send a technician", "appointment for", "book me", "fit me in", "come round", "come over",
     "come by", "pop round"),
    ("transfer", "connect", "put me through", "speak to", "speak with", "talk to", "talk with", "get me", "human",
     "agent", "representative", "operator", "someone real", "real person", "not a machine",
     "isn't a machine", "live agent", "actual person", "a human", "a person", "the person", "get someone",
     "someone on the line"),
    ("refill", "renew", "top up", "more of", "run out", "running out", "almost out", "out of my", "reorder"),
    ("report", "outage", "is out", "are out", "is down", "are down", "'s out", "'s down", "been out", "broken down",
     "broke down", "not working", "went out", "gone out", "no power", "blackout", "cut off",
     "no electricity", "no gas", "no heat", "without power", "without electricity", "lost power", "power cut"),
    ("start", "switch on", "turn on", "connect", "set up", "begin", "activate", "moving in", "move in", "moving into",
     "hook up"),
    ("stop", "switch off", "turn off", "disconnect", "shut off", "end", "moving out", "move out", "close my"),
    ("add", "extra", "another", "more", "include"),
    ("create", "open", "file", "lodge", "submit", "raise", "make a claim", "put in a claim", "new", "register"),
    ("request", "need", "arrange", "organise", "organize", "drop off", "dropped off", "hand in", "put in"),
    ("verify", "confirm my identity", "born", "birth", "birthday", "date of birth", "dob", "identity", "zip",
     "security"),
    ("answer", "question", "ask", "know", "information", "policy", "how", "why", "do you", "can i", "is it", "is there"),
    ("press", "dial", "key", "keypad", "extension", "option", "tone"),
    ("end", "hang up", "goodbye", "bye", "that's all", "that is all", "nothing else", "done"),
    ("set", "turn", "switch", "enable", "disable", "toggle", "remind", "reminder", "notification", "text"),
)  # fmt: skip

# How callers ask for the things every phone line does, said to tools of that verb whatever their names.
CALL_CONTROL_PHRASES: dict[str, tuple[str, ...]] = {
    "transfer": ("can I speak to someone", "put me through to a person", "I want a real human agent"),
    "end": ("goodbye, that's all", "thanks, I'm done, bye"),
}

# Things: what the request is about.
NOUNS: tuple[tuple[str, ...], ...] = (
    ("order", "package", "parcel", "delivery", "shipment", "stuff", "item", "purchase", "router", "arrive", "shipped",
     "turn up", "turned up"),
    ("bill", "invoice", "balance", "owe", "due", "amount due", "account balance", "statement"),
    ("appointment", "visit", "technician", "engineer", "booking slot", "slot", "come out", "callout"),
    ("internet", "broadband", "wifi", "wi-fi", "connection", "online", "network", "router"),
    ("power", "electricity", "electric", "lights", "light", "energy"),
    ("gas", "boiler", "heating"),
    ("auto", "car", "vehicle", "motor", "truck", "van"),
    ("home", "house", "property", "apartment", "flat"),
    ("prescription", "script", "meds", "medication", "medicine", "pills", "inhaler", "rx", "drug", "bottle"),
    ("pharmacist", "pharmacy", "chemist"),
    ("store", "location", "branch", "shop", "near me", "nearest", "closest"),
    ("flight", "plane", "trip", "fly", "flying", "departure", "arrival", "landed"),
    ("booking", "reservation", "ticket", "trip", "itinerary"),
    ("bag", "luggage", "suitcase", "baggage", "checked bag"),
    ("wheelchair", "mobility", "assistance", "help getting"),
    ("meter", "reading", "read my meter"),
    ("service", "supply", "account"),
    ("return", "send back", "send something back", "refund", "exchange"),
    ("hours", "opening hours", "business hours", "open", "close", "closing", "opening", "what time"),
    ("ship", "shipping", "postage", "delivery charge"),
    ("move house", "moving", "new address", "new flat", "new place", "relocating"),
)  # fmt: skip

_STEM = snowballstemmer.stemmer("english")
_PARTICLES = frozenset(("back", "off", "up", "out", "through", "in", "over", "round", "down"))
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@lru_cache(maxsize=16384)
def _stem(word: str) -> str:
    return str(_STEM.stemWord(word))


def stems(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower().replace("’", "'"))]


@lru_cache(maxsize=1)
def _entries() -> dict[str, dict[str, list[tuple[tuple[str, ...], str]]]]:
    """Per kind ("v:", "n:"), per first stem: (stemmed phrase, concept)."""
    out: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = {"v:": {}, "n:": {}}
    for prefix, groups in (("v:", VERBS), ("n:", NOUNS)):
        for group in groups:
            for entry in group:
                phrase = tuple(stems(entry))
                out[prefix].setdefault(phrase[0], []).append((phrase, prefix + group[0]))
    return out


@lru_cache(maxsize=4096)
def concepts(text: str) -> frozenset[str]:
    """The concepts a text mentions ("v:cancel", "n:appointment"), and its content stems as they are.
    Longer phrases are matched first and use up their words ("dropped off" is not "drop")."""
    said = stems(text)
    found: set[str] = {w for w in said if w not in STOP}
    for by_first in _entries().values():  # a verb phrase does not use up a noun ("no electricity" is power)
        words: list[str | None] = list(said)
        hits = sorted(((len(p), i, p, c) for i, w in enumerate(said) for p, c in by_first.get(w, ())
                       if tuple(said[i : i + len(p)]) == p), key=lambda h: (-h[0], h[1]))  # fmt: skip
        for n, i, _, concept in hits:
            if all(w is not None for w in words[i : i + n]):
                found.add(concept)
                words[i : i + n] = [None] * n
        for i, w in enumerate(words):  # a phrasal verb split by its object: "send it back", "call it off"
            for phrase, concept in by_first.get(w or "", ()):
                if len(phrase) == 2 and phrase[1] in _PARTICLES and phrase[1] in words[i + 2 : i + 4]:
                    found.add(concept)
    return frozenset(found)


STOP = frozenset(stems(
    "a an the is are was were be been am to of and or in on at for with my your our i you we it its it's this that "
    "me us please would like could can will just so um uh er hmm yeah yes okay ok well hi hello hey oh also really "
    "want wanna need gonna going do does did have has had get got some any about from there here then than them "
    "they he she his her him what when where how who which up down out over all no not don't i'm i'd i'll you're "
    "that's there's let let's into by if as but"
))  # fmt: skip
