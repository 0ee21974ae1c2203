"""What all engine sessions share: loaded models, the inference pool, and the brain factory."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np

from bot.engine.asr import Transcriber
from bot.engine.brain.base import Brain
from bot.engine.brain.embed import SentenceEncoder
from bot.engine.brain.local import STOCK_OPENINGS, LocalBrain
from bot.engine.pool import InferencePool
from bot.engine.stats import EngineStats
from bot.engine.tts import PiperVoice, VoiceBank
from bot.engine.warmup import TtsWarmup
from bot.realtime.session_config import SessionConfig
from bot.settings import Settings

EMBED_CACHE_SIZE = 8192  # texts; ~1.5 KB each


@dataclass
class EngineRuntime:
    transcriber: Transcriber
    voices: VoiceBank
    encoder: SentenceEncoder
    pool: InferencePool
    settings: Settings
    stats: EngineStats = field(default_factory=EngineStats)
    embed_cache: dict[str, np.ndarray] = field(default_factory=dict)
    _warmup: TtsWarmup | None = None  # engine-wide; copies of the runtime share it once made

    @property
    def warmup(self) -> TtsWarmup:
        if self._warmup is None:
            self._warmup = TtsWarmup(self.pool, self.voices)
        return self._warmup

    @classmethod
    def load(cls, settings: Settings) -> EngineRuntime:
        """Load every model once (a second or two); the first reply then pays no loading cost."""
        runtime = cls(
            transcriber=Transcriber(threads=settings.asr_threads),
            voices=VoiceBank(PiperVoice()),
            encoder=SentenceEncoder(),
            pool=InferencePool(settings.engine_pool_max_waiting),
            settings=settings,
        )
        runtime.encoder.encode(["warm up"])
        for opening in STOCK_OPENINGS:  # ~1.5 s once, instead of in the first sessions' warm-up
            runtime.voices.synthesize(SessionConfig.voice, opening)
        runtime.transcriber.transcribe(bytes(16000))
        return runtime

    def transcribe(self, pcm: bytes, phrases: tuple[str, ...]) -> str:
        """Blocking; runs on the ASR lane."""
        start = time.perf_counter()
        try:
            return self.transcriber.transcribe(pcm, phrases=phrases)
        finally:
            self.stats.record("asr_compute_ms", (time.perf_counter() - start) * 1000)

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors for `texts`; tool phrasings and facts repeat across sessions, so they are cached."""
        missing = [t for t in dict.fromkeys(texts) if t not in self.embed_cache]
        if missing:
            vectors = await self.pool.run("brain", self.encoder.encode, missing)
            for text, vector in zip(missing, vectors, strict=True):
                self.embed_cache[text] = vector
                if len(self.embed_cache) > EMBED_CACHE_SIZE:  # overflow: forget the oldest entry
                    del self.embed_cache[next(iter(self.embed_cache))]
        return np.stack([self.embed_cache[t] for t in texts]) if texts else np.zeros((0, self.encoder.dim))

    def new_brain(self) -> Brain:
        return brain_factory(self)

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.pool.close)


def brain_factory(runtime: EngineRuntime) -> Brain:
    """A brain for a new session, of the kind the settings name."""
    if runtime.settings.brain == "openai":
        from bot.engine.brain.openai_chat import OpenAIChatBrain

        return OpenAIChatBrain(runtime.settings)
    return LocalBrain(runtime.embed)
