"""Latency samples of the engine's stages, for /stats and the benchmarks.

Overflow policy: each stage keeps its last `maxlen` samples (a deque drops the oldest).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from bot.call_metrics import ENGINE_STAGE

STAGES = ("asr_compute_ms", "asr_final_ms", "asr_wait_ms", "brain_ms", "tts_first_ms", "first_audio_ms")


class EngineStats:
    def __init__(self, maxlen: int = 2048) -> None:
        self._samples: dict[str, deque[float]] = {name: deque(maxlen=maxlen) for name in STAGES}
        self.speculative_hits = 0
        self.speculative_misses = 0

    def record(self, stage: str, ms: float) -> None:
        self._samples[stage].append(ms)
        ENGINE_STAGE.labels(stage.removesuffix("_ms")).observe(ms / 1000)

    def summary(self) -> dict[str, object]:
        out: dict[str, object] = {
            "speculative_hits": self.speculative_hits,
            "speculative_misses": self.speculative_misses,
        }
        for name, samples in self._samples.items():
            if samples:
                a = np.fromiter(samples, dtype=np.float64)
                out[name] = {"n": len(a), "p50": round(float(np.percentile(a, 50)), 1),
                             "p95": round(float(np.percentile(a, 95)), 1)}  # fmt: skip
        return out
