"""What the brain says, worded as a person would: questions, confirmations, results, help.

Everything is built from the tools' own descriptions, parameter names and values; no tool or field
name is read out as it is written. Dates, times and amounts are said the way people say them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from bot.engine.brain import lexicon
from bot.engine.brain.base import ToolSpec
from bot.engine.brain.intents import description_parts, humanize, verb_group, voiced
from bot.engine.brain.numbers import MONTHS, TEENS, UNITS, ordinal
from bot.engine.brain.slots import Param, param, params
from bot.engine.brain.when import WEEKDAYS
from bot.redact import secret_kind

SPEAKABLE_KEYS = ("message", "speech", "say", "answer", "text", "summary")
ANYTHING_ELSE = ("Is there anything else I can help with?", "Anything else I can do for you?",
                 "Can I help with anything else?")  # fmt: skip
OPENERS = ("Sure.", "Okay.", "Of course.", "Alright.")
ASK_TIME = "And what time works for you?"
# Said before a result the brain words itself: a short sentence of its own, synthesized ahead, so the
# caller hears something at once while the result's own sentence is synthesized.
RESULT_OPENERS = ("Okay, I've got that.", "Alright, here's what I see.", "Right, I have it here.")
ERROR_OPENING = "Sorry, I couldn't do that:"
_IN_WORDS = {n: w for w, n in {**UNITS, **TEENS}.items()}  # counts said as words: "two checked bags"
_ID_WORDS = re.compile(r"\b(number|code|reference|id|locator)\b", re.I)


def say_date(iso: str) -> str:
    """ "2026-12-03" → "Thursday, December 3rd" (dates the brain says are days to come, so no year)."""
    try:
        d = dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{WEEKDAYS[d.weekday()].title()}, {MONTHS[d.month - 1].title()} {ordinal(d.day)}"


def say_time(hhmm: str) -> str:
    """ "14:30" → "2:30 pm", "12:00" → "noon"."""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", hhmm)
    if not m:
        return hhmm
    hour, minute = int(m.group(1)), int(m.group(2))
    if (hour, minute) == (12, 0):
        return "noon"
    suffix = "am" if hour < 12 else "pm"
    hour = hour % 12 or 12
    return f"{hour} {suffix}" if minute == 0 else f"{hour}:{minute:02d} {suffix}"


def say_money(value: float) -> str:
    return f"${value:,.2f}" if value != int(value) else f"${int(value):,}"


def say_value(key: str, value: Any) -> str:
    """A value as it is said: ids digit by digit, dates and times in words, amounts in dollars."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key and secret_kind(key):  # (a result that echoes a secret: never read out)
        digits = re.sub(r"\D", "", str(value))
        return f"ending {' '.join(digits[-4:])}" if len(digits) >= 13 else "on file"
    if isinstance(value, int | float):
        money = re.search(r"amount|balance|price|total|cost|fee|due|paid|owed|charge", key, re.I)
        return say_money(float(value)) if money else f"{value:g}" if isinstance(value, float) else str(value)
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return say_date(text)
    if re.fullmatch(r"\d{1,2}:\d{2}", text):
        return say_time(text)
    if re.fullmatch(r"[A-Z\d]{3,}", text) and any(ch.isdigit() for ch in text) and len(text) >= 4:
        return " ".join(text)
    return text


def label(p: Param) -> str:
    """A short name for a parameter: "prescription number", "booking reference", "order number"."""
    desc = str(p.schema.get("description", "")).strip()
    words = re.sub(r"\b(?:the|a|an|your|\d+[- ](?:digit|character|letter))\b", " ", desc, flags=re.I).split()
    m = _ID_WORDS.search(" ".join(words[:5]))
    if m:
        short = " ".join(words[:5])[: m.end()].strip()
        if short:
            return short if short[:2].isupper() else short[0].lower() + short[1:]
    name = humanize(p.name)
    name = re.sub(r"\bid\b", "number", name)
    return name.replace("zip code", "ZIP code").replace("rx", "prescription")


def verb_phrase(tool: ToolSpec) -> str:
    """The tool's description in the caller's second person: "move your appointment"."""
    first, _ = description_parts(tool)
    text = voiced(first.rstrip(".") or humanize(tool.name), caller=False)
    text = re.split(r",\s*e\.g\.|\s+\(|\s+when\b", text)[0]
    return text[0].lower() + text[1:] if text else text


def ask_line(tool: ToolSpec, name: str, turn: int | None) -> str:
    """The question for one argument; `turn` varies the opener ("Sure.", "Okay."), None: no opener."""
    opener = OPENERS[turn % len(OPENERS)] if turn is not None else ""
    return _ask(tool, name, opener).strip()


def _ask(tool: ToolSpec, name: str, opener: str) -> str:
    p = param(tool, name)
    if p is None:
        return f"{opener} What's the {humanize(name)}?"
    if p.kind == "date":
        return f"{opener} What day would suit you?" if "birth" not in p.name else f"{opener} What's your date of birth?"
    if p.kind == "time":
        return ASK_TIME
    if p.kind == "money":
        paying = "pay" in verb_group(tool) or re.search(r"\bpa(?:y|ying|yment)\b", tool.description, re.I)
        return f"{opener} How much would you like to pay?" if paying else f"{opener} What amount?"
    if p.kind == "address":
        return f"{opener} What's the address?"
    if p.kind == "enum":
        options = [str(o).replace("_", " ") for o in p.schema["enum"]]
        return f"Is that {', '.join(options[:-1])} or {options[-1]}?" if len(options) > 1 else f"{label(p)}?"
    if p.kind == "boolean":
        vp = verb_phrase(tool)
        return f"Should I {vp}?" if vp.endswith(" on or off") else f"Should I turn {humanize(p.name)} on or off?"
    if p.kind == "number":
        name = humanize(p.name)
        return f"How many {name}?" if not _ID_WORDS.search(name) else f"What's the {name}?"
    return f"{opener} Could you give me the {label(p)}?"


def _date_phrase(tool: ToolSpec, p: Param, value: str, vp: str) -> str:
    prefix = humanize(p.name).replace("date", "").strip()
    moving = "move" in verb_group(tool) or prefix == "new"
    when = f"{'to' if moving else 'on'} {say_date(value)}"
    if prefix and prefix not in ("new", "start", "stop", "end", "appointment") and prefix not in vp:
        return f", for {prefix} {when}"
    return " " + when


Placed = tuple[str, str]  # the verb phrase, and what goes after it


def _place_money(tool: ToolSpec, p: Param, value: Any, vp: str) -> Placed:
    amount = say_money(float(value))
    if vp.startswith("pay "):
        return f"pay {amount} toward {vp[4:]}", ""
    if re.search(r"\bpayment\b", vp):
        return re.sub(r"\bpayment\b", f"payment of {amount}", vp, count=1), ""
    return vp, f" for {amount}"


def _place_date(tool: ToolSpec, p: Param, value: Any, vp: str) -> Placed:
    return vp, _date_phrase(tool, p, str(value), vp)


def _place_time(tool: ToolSpec, p: Param, value: Any, vp: str) -> Placed:
    return vp, f" at {say_time(str(value))}"


def _place_choice(tool: ToolSpec, p: Param, value: Any, vp: str) -> Placed:
    """An enum or a boolean: "report a power or gas outage" → "report a power outage"."""
    said = ("on" if value else "off") if p.kind == "boolean" else str(value).replace("_", " ")
    options = ["on", "off"] if p.kind == "boolean" else [str(o).replace("_", " ") for o in p.schema["enum"]]
    either = "|".join(map(re.escape, options))
    listed = re.compile(rf"\b(?:{either})(?:,? (?:or|and) (?:{either}))+\b")
    if listed.search(vp):
        return listed.sub(said, vp, count=1), ""
    if said in ("morning", "afternoon", "evening"):
        return vp, f" in the {said}"
    return vp, f", {said}" if p.kind == "enum" else f", {humanize(p.name)} {said}"


def _place_count(tool: ToolSpec, p: Param, value: Any, vp: str) -> Placed:
    """A count before the thing counted: "add checked bags" → "add two checked bags"."""
    n = int(value) if float(value) == int(value) else value
    said = _IN_WORDS.get(n, str(n)) if isinstance(n, int) else str(n)
    words = vp.split()
    at = next((i for i, w in enumerate(words) if i and lexicon.stems(w)[:1] and lexicon.stems(w)[0] in p.cues), None)
    if at is None:
        return vp, f", {said} {humanize(p.name)}"
    if n == 1 and words[at].endswith("s"):
        words[at] = words[at][:-1]
    if at >= 2 and words[at - 1] not in ("a", "an", "the", "to", "of", "for", "on", "at"):
        at -= 1  # before its adjective: "two checked bags"
    return " ".join([*words[:at], said, *words[at:]]), ""


def _place_address(tool: ToolSpec, p: Param, value: Any, vp: str) -> Placed:
    spoken = say_value(p.name, value)
    placed, n = re.subn(r"\b(?:at|to|for) (?:a |an |the |your )?(?:new |current )?address\b", f"at {spoken}", vp)
    return (placed, "") if n else (vp, f" at {spoken}")


_ARTICLE = re.compile(r"\b(?:a|an|the|your|my|existing|new)\s+(?:existing\s+|new\s+)?(\w+)\b")


def _place_identifier(tool: ToolSpec, p: Param, value: Any, vp: str) -> Placed:
    """An id in place of the thing it names: "cancel a booking" → "cancel booking reference Z 9 Y 8 X 7"."""
    spoken, lab = say_value(p.name, value), label(p)
    for m in _ARTICLE.finditer(vp):
        if lexicon.stems(m.group(1))[:1] and lexicon.stems(m.group(1))[0] in p.cues:
            noun = lab if m.group(1).lower() in lab.lower() else m.group(1)
            return f"{vp[: m.start()]}{noun} {spoken}{vp[m.end() :]}", ""
    return vp, f" for {lab} {spoken}"


def _place_secret(tool: ToolSpec, p: Param, value: Any, vp: str) -> Placed:
    """A secret is never read back: a card as its last four digits, a security code or SSN not at all."""
    if secret_kind(p.name) == "card":
        last4 = re.sub(r"\D", "", str(value))[-4:]
        return vp, f", the card ending {' '.join(last4)}"
    return vp, ""


_PLACERS: dict[str, Callable[[ToolSpec, Param, Any, str], Placed]] = {
    "money": _place_money, "date": _place_date, "time": _place_time, "enum": _place_choice,
    "boolean": _place_choice, "number": _place_count, "address": _place_address,
}  # fmt: skip


def action_phrase(tool: ToolSpec, args: dict[str, Any]) -> str:
    """What the tool will do with these arguments: "move your appointment to Thursday, December 3rd at 2:30 pm"."""
    vp, tail = verb_phrase(tool), ""
    for p in params(tool):
        if p.name in args:
            place = _place_secret if secret_kind(p.name) else _PLACERS.get(p.kind, _place_identifier)
            vp, after = place(tool, p, args[p.name], vp)
            tail += after
    return (vp + tail).strip()


def confirm_line(tool: ToolSpec, args: dict[str, Any]) -> str:
    return f"Just to confirm, you'd like to {action_phrase(tool, args)}?"


def choice_line(tools: list[ToolSpec]) -> str:
    """ "Do you want to move it, or cancel it?" from the tools' own descriptions."""
    phrases = [verb_phrase(t) for t in tools]
    objects = [" ".join(p.split()[1:]) for p in phrases]
    bare = [re.sub(r"^(?:an?|the|your)\s+", "", o) for o in objects]
    if len(set(bare)) == 1 and bare[0]:
        verbs = [p.split()[0] for p in phrases]
        listed = ", ".join(verbs[:-1]) + f" or {verbs[-1]}"
        return f"Would you like to {listed} your {bare[0]}?"
    return "Do you want to " + ", ".join(phrases[:-1]) + f", or {phrases[-1]}?"


def help_line(tools: tuple[ToolSpec, ...]) -> str:
    """What it can do, from the tools' descriptions: tools about one thing share it ("book, move or cancel
    your appointment"); six things at most, a phone menu longer than that is not heard to its end."""
    skip = ("end", "press")
    phrases = [verb_phrase(t) for t in tools if humanize(t.name).split(" ")[0] not in skip]
    if not phrases:
        return "I can answer questions about what's in my notes. What would you like to know?"
    merged: dict[str, list[str]] = {}
    for p in phrases:
        verb, _, obj = p.partition(" ")
        key = re.sub(r"^(?:an?|the|your)\s+", "", obj)
        merged.setdefault(key, []).append(verb)
    parts = []
    for obj, verbs in list(merged.items())[:6]:
        listed = ", ".join(verbs[:-1]) + f" or {verbs[-1]}" if len(verbs) > 1 else verbs[0]
        parts.append(f"{listed} {'your ' + obj if len(verbs) > 1 else _object_of(phrases, verbs[0], obj)}".strip())
    listed = ", ".join(parts[:-1]) + f", or {parts[-1]}" if len(parts) > 1 else parts[0]
    return f"I can help you {listed}. What would you like to do?"


def _object_of(phrases: list[str], verb: str, bare: str) -> str:
    for p in phrases:
        v, _, obj = p.partition(" ")
        if v == verb and re.sub(r"^(?:an?|the|your)\s+", "", obj) == bare:
            return obj
    return bare


def result_line(output: str) -> tuple[str, bool]:
    """A tool's output (usually JSON) as sentences to say, and whether the tool worded it itself
    (a `message`-like field: said verbatim, the tool chose every word)."""
    try:
        data = json.loads(output)
    except ValueError:
        return output.strip() or "That's done.", False
    if isinstance(data, str):
        return data, True
    if isinstance(data, dict):
        for key in SPEAKABLE_KEYS:
            if isinstance(data.get(key), str):
                return str(data[key]), True
        if data.get("error"):
            return f"{ERROR_OPENING} {str(data['error']).rstrip('.')}.", False
        return _describe(data), False
    if isinstance(data, list):
        if not data:
            return "I didn't find anything.", False
        return f"I found {len(data)}: " + "; ".join(_describe(d).rstrip(".") if isinstance(d, dict) else
                                                    say_value("", d) for d in data[:3]) + ".", False  # fmt: skip
    return say_value("", data), False


def _describe(data: dict[str, Any]) -> str:
    subject = ""
    clauses: list[str] = []
    for key, value in data.items():
        words = humanize(key)
        if isinstance(value, dict | list) or value is None or value == "":
            continue
        if not subject and re.search(r"\b(id|number|code|reference)\b", words) and not isinstance(value, bool):
            subject = f"{re.sub(r' (id|number|code|reference)$', '', words)} {say_value(key, value)}".strip()
            continue
        if isinstance(value, bool):
            adjective = re.sub(r"^(is|has) ", "", words)
            clauses.append(f"it's {'' if value else 'not '}{adjective}")
        elif words in ("status", "state"):
            clauses.append(f"it's {value}")
        else:
            clauses.append(f"the {words} is {say_value(key, value)}")
    if not clauses:
        return "That's done."
    text = ", ".join(clauses[:-1]) + (" and " if len(clauses) > 1 else "") + clauses[-1]
    if subject:
        first = clauses[0]
        text = (f"{subject.capitalize()} is {first[5:]}" if first.startswith("it's ") else
                f"For {subject}, {first}") + "".join(f", {c}" for c in clauses[1:-1]) + (
                    f" and {clauses[-1]}" if len(clauses) > 1 else "")  # fmt: skip
    return text[0].upper() + text[1:] + "."
