"""What all engine sessions share: loaded models, the inference pool, and the brain factory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bot.engine.asr import Transcriber
from bot.engine.brain.base import Brain
from bot.engine.brain.embed import SentenceEncoder
from bot.engine.brain.local import LocalBrain
from bot.engine.pool import InferencePool
from bot.engine.tts import PiperVoice, VoiceBank
from bot.settings import Settings


@dataclass
class EngineRuntime:
    transcriber: Transcriber
    voices: VoiceBank
    encoder: SentenceEncoder
    pool: InferencePool
    settings: Settings
    brain_factory: Callable[[EngineRuntime], Brain]

    @classmethod
    def load(cls, settings: Settings) -> EngineRuntime:
        """Load every model once (a second or two); the first reply then pays no loading cost."""
        runtime = cls(
            transcriber=Transcriber(threads=settings.asr_threads),
            voices=VoiceBank(PiperVoice()),
            encoder=SentenceEncoder(),
            pool=InferencePool(settings.engine_pool_max_waiting),
            settings=settings,
            brain_factory=_brain_factory(settings),
        )
        runtime.encoder.encode(["warm up"])
        runtime.voices.default.synthesize("Warm up.")
        runtime.transcriber.transcribe(bytes(16000))
        return runtime

    async def embed(self, texts: list[str]) -> np.ndarray:
        return await self.pool.run("brain", self.encoder.encode, texts)

    def new_brain(self) -> Brain:
        return self.brain_factory(self)

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.pool.close)


def _brain_factory(settings: Settings) -> Callable[[EngineRuntime], Brain]:
    if settings.brain == "openai":
        from bot.engine.brain.openai_chat import OpenAIChatBrain

        return lambda runtime: OpenAIChatBrain(settings)
    return lambda runtime: LocalBrain(runtime.embed)
