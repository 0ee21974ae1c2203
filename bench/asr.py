"""Speech recognition on phone audio: word error rate and time per caller turn, by encoder window.

Each sentence is spoken by piper, passed through the phone channel (8 kHz, G.711 mu-law) and
resampled to 16 kHz as the engine gets it; half the runs add line noise at -45 dBFS. Every window
setting transcribes the same audio with the same prompt. `--windows 30` is faster-whisper's own
behaviour (a padded 30 s window); the default `10,20,30` is what the engine uses (bot/engine/asr.py).
Prints one line per setting and last a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.engine.asr import Transcriber
from tests.audio import CALLER_SENTENCES as SENTENCES
from tests.audio import phone_pcm

NUMBER_WORDS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                "six": "6", "seven": "7", "eight": "8", "nine": "9"}  # fmt: skip


def words(text: str) -> list[str]:
    """Lower case, no punctuation, digits one per word ("45" and "four five" both → "4 5")."""
    text = re.sub(r"(?<=\d)(?=\d)", " ", text.lower().replace("-", " "))
    return [NUMBER_WORDS.get(w, w) for w in re.findall(r"[a-z0-9']+", text)]


def edits(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def noisy(pcm: bytes, dbfs: float, seed: int) -> bytes:
    a = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    a += np.random.default_rng(seed).normal(0, 32768 * 10 ** (dbfs / 20), len(a))
    return np.clip(a, -32768, 32767).astype(np.int16).tobytes()


def run(windows: tuple[int, ...], clips: list[tuple[str, bytes]], verbose: bool) -> dict[str, float]:
    asr = Transcriber(windows=windows)
    asr.transcribe(clips[0][1])  # warm up
    errors = total = 0
    times: list[float] = []
    for ref, pcm in clips:
        start = time.perf_counter()
        hyp = asr.transcribe(pcm)
        times.append((time.perf_counter() - start) * 1000)
        e = edits(words(ref), words(hyp))
        errors, total = errors + e, total + len(words(ref))
        if verbose and e:
            print(f"  {windows}: {ref!r} -> {hyp!r}")
    return {"wer_pct": round(100 * errors / total, 2), "p50_ms": round(float(np.percentile(times, 50))),
            "p95_ms": round(float(np.percentile(times, 95))), "retries": asr.retries}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default="30;10,20,30", help="window settings (s), ';' between settings")
    parser.add_argument("--verbose", action="store_true", help="print every misrecognised sentence")
    args = parser.parse_args()
    clips = [(s, phone_pcm(s, 16000)) for s in SENTENCES]
    clips += [(s, noisy(pcm, -45, i)) for i, (s, pcm) in enumerate(clips)]
    figures: dict[str, dict[str, float]] = {}
    for setting in args.settings.split(";"):
        windows = tuple(int(w) for w in setting.split(","))
        figures[setting] = fig = run(windows, clips, args.verbose)
        print(f"windows {setting:>9} s: WER {fig['wer_pct']:.2f} %, p50 {fig['p50_ms']} ms, p95 {fig['p95_ms']} ms, "
              f"{fig['retries']} retried with 30 s, {len(clips)} clips")  # fmt: skip
    print(json.dumps({"clips": len(clips), **{f"windows_{k.replace(',', '_')}": v for k, v in figures.items()}}))


if __name__ == "__main__":
    main()
