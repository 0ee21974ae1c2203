"""The edge's caller detector on phone audio made with our TTS: the bot's own voice coming back
(−12 dB, 60-400 ms late, under line noise) is never caller speech; a caller talking over it is."""

from __future__ import annotations

import audioop

import numpy as np
import pytest

from bot.audio.echo import CallerDetector, EchoGate, SlidingMax
from bot.audio.frames import LINE_FRAME_BYTES as FRAME_BYTES
from bot.audio.level import rms
from tests.audio import phone_pcm

BOT = "Thanks for calling Acme Telecom. I can help with orders, billing and appointments. What can I do for you?"


def line_noise(n_bytes: int, dbfs: float = -50.0, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 32768 * 10 ** (dbfs / 20), n_bytes // 2).astype(np.int16)
    return noise.tobytes()


def echo_of(bot: bytes, delay_ms: int, gain_db: float = -12.0) -> bytes:
    delayed = bytes(delay_ms * 16) + bot
    return audioop.mul(delayed[: len(bot)], 2, 10 ** (gain_db / 20))


def run(detector: CallerDetector, line: bytes, played: bytes) -> tuple[list[bool], bytes]:
    voiced, out = [], bytearray()
    for i in range(0, len(line) - FRAME_BYTES + 1, FRAME_BYTES):
        frame, speech = detector.process(line[i : i + FRAME_BYTES], played[i : i + FRAME_BYTES])
        voiced.append(speech)
        out += frame
    return voiced, bytes(out)


@pytest.mark.parametrize("delay_ms", [60, 200, 400])
def test_the_bots_echo_under_line_noise_is_never_caller_speech(delay_ms: int) -> None:
    bot = phone_pcm(BOT, 8000)
    line = audioop.add(echo_of(bot, delay_ms), line_noise(len(bot)), 2)
    detector = CallerDetector()
    voiced, clean = run(detector, line, bot)
    assert not any(voiced)
    assert detector.gated > 0  # webrtcvad alone would have called some of it speech
    # ...and what goes on to the engine is turned down: its VAD and recogniser do not hear it either
    assert rms(clean) < rms(line) / 10


def test_a_caller_talking_over_the_bot_is_heard_within_100_ms() -> None:
    bot = phone_pcm(BOT, 8000)
    caller = phone_pcm("I want to check my order please.", 8000)
    at = 16000 * 2  # 2 s into the bot's turn
    line = bytearray(audioop.add(echo_of(bot, 60), line_noise(len(bot)), 2))
    mixed = audioop.add(bytes(line[at : at + len(caller)]), caller[: len(line) - at], 2)
    line[at : at + len(mixed)] = mixed
    voiced, _ = run(CallerDetector(), bytes(line), bot)
    onset = next(i for i, v in enumerate(voiced) if v) * 20
    caller_starts = at // 16 + next(i for i in range(0, len(caller), 320) if rms(caller[i : i + 320]) > 300) // 16
    assert caller_starts <= onset <= caller_starts + 100


def test_without_the_bot_on_the_line_nothing_is_gated_or_turned_down() -> None:
    caller = phone_pcm("What are your opening hours, please?", 8000)
    detector = CallerDetector()
    voiced, clean = run(detector, caller, bytes(len(caller)))
    assert sum(voiced) * 20 > 600 and detector.gated == 0
    assert rms(clean) > rms(caller) * 0.7  # the canceller has nothing to take away


def quiet_caller_over_the_bot(gain_db: float) -> tuple[bytes, bytes, int]:
    """A line that returns no echo, and a caller `gain_db` below the bot 2 s into its turn:
    (line, what the bot played, where the caller's first word starts in ms)."""
    bot = phone_pcm(BOT, 8000)
    caller = audioop.mul(phone_pcm("Can I pay my bill?", 8000), 2, 10 ** (gain_db / 20))
    at = 16000 * 2
    line = bytearray(line_noise(len(bot)))
    line[at : at + len(caller)] = audioop.add(bytes(line[at : at + len(caller)]), caller[: len(line) - at], 2)
    starts = at // 16 + next(i for i in range(0, len(caller), 320) if rms(caller[i : i + 320]) > 300) // 16
    return bytes(line), bot, starts


def test_on_a_line_without_echo_the_gate_comes_down_and_a_soft_start_is_heard() -> None:
    line, bot, starts = quiet_caller_over_the_bot(-10.0)
    detector = CallerDetector()
    before, _ = run(detector, line[: starts * 16], bot[: starts * 16])
    assert detector.gate.gate < detector.gate.cap / 4 and not any(before)  # learnt: this line returns nothing
    after, _ = run(detector, line[starts * 16 :], bot[starts * 16 :])
    onset = starts + next(i for i, v in enumerate(after) if v) * 20
    assert starts <= onset <= starts + 40
    # The fixed gate (no adaptation: its floor is its cap) hears the same caller only later, if at all.
    fixed = CallerDetector(gate=EchoGate(floor_db=8.0))
    voiced, _ = run(fixed, line, bot)
    assert next((i for i, v in enumerate(voiced) if v), len(voiced)) * 20 > onset


@pytest.mark.parametrize("delay_ms", [60, 400])
def test_on_a_line_with_echo_the_gate_stays_up(delay_ms: int) -> None:
    bot = phone_pcm(BOT, 8000)
    line = audioop.add(echo_of(bot, delay_ms), line_noise(len(bot)), 2)
    detector = CallerDetector()
    run(detector, line, bot)
    assert detector.gate.gate == detector.gate.cap


def test_sliding_max_is_the_max_of_the_last_values() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 1000, 500).tolist()
    window = SlidingMax(7)
    for i, v in enumerate(values):
        window.push(v)
        assert window.max == max(values[max(0, i - 6) : i + 1])
    assert SlidingMax(3).max == 0.0
