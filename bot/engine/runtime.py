"""What all engine sessions share: loaded models, the inference pool, and the brain factory."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.engine.asr import SpeechToText, Transcriber
from bot.engine.brain.base import Brain
from bot.engine.brain.embed import SentenceEncoder
from bot.engine.brain.local import STOCK_OPENINGS, LocalBrain
from bot.engine.pool import InferencePool
from bot.engine.speech.aligned_voice import AlignedSpeech, AlignedVoice
from bot.engine.stats import EngineStats
from bot.engine.tts import PiperVoice, VoiceBank
from bot.engine.warm_sessions import WarmSessions
from bot.engine.warmup import TtsWarmup
from bot.errors import ConfigError
from bot.realtime.client_events import ProtocolError
from bot.realtime.dialect import Dialect
from bot.realtime.recognition_hints import Hints
from bot.realtime.session_config import SessionConfig
from bot.settings import Settings

log = logging.getLogger(__name__)
EMBED_CACHE_SIZE = 8192  # texts; ~1.5 KB each


@dataclass
class EngineRuntime:
    transcriber: SpeechToText
    voices: VoiceBank
    encoder: SentenceEncoder
    pool: InferencePool
    settings: Settings
    stats: EngineStats = field(default_factory=EngineStats)
    embed_cache: dict[str, np.ndarray] = field(default_factory=dict)
    _embedding: dict[str, asyncio.Future[None]] = field(default_factory=dict)  # texts being encoded now
    _warmup: TtsWarmup | None = None  # engine-wide; copies of the runtime share it once made
    _asr_warm: bool = False  # the recogniser has run once
    warm_sessions: WarmSessions = field(default_factory=lambda: WarmSessions(None))
    _aligned: AlignedVoice | None = None  # piper with phoneme alignments: loaded when first asked for
    _aligning: asyncio.Lock = field(default_factory=asyncio.Lock)
    _aligned_job: asyncio.Future[AlignedVoice] | None = None  # loading it before a reply asks (prepare_aligned)

    @property
    def warmup(self) -> TtsWarmup:
        if self._warmup is None:
            self._warmup = TtsWarmup(self.pool, self.voices)
        return self._warmup

    @classmethod
    def load(cls, settings: Settings) -> EngineRuntime:
        """Load every model once, the three side by side (their loaders run in native code: on 2 cores
        about 1.3 s instead of 2.5); the voice's first, slow run happens here too, so the first greeting
        pays no loading cost. The recogniser's first run and the stock openings come after, while the
        engine already listens (`warm_openings`): a caller's first turn comes seconds after the answer,
        and a restarted engine takes its calls back that much sooner."""
        with ThreadPoolExecutor(3, thread_name_prefix="engine-load") as loading:
            transcriber = loading.submit(_recognizer, settings)
            voice = loading.submit(PiperVoice) if settings.tts == "local" else None
            encoder = loading.submit(SentenceEncoder)
            runtime = cls(
                transcriber=transcriber.result(),
                voices=voice_bank(settings, voice.result() if voice is not None else None),
                encoder=encoder.result(),
                pool=InferencePool(settings.engine_pool_max_waiting),
                settings=settings,
                warm_sessions=WarmSessions(Path(settings.engine_warm_file) if settings.engine_warm_file else None),
            )
        runtime.encoder.encode(["warm up"])
        runtime.voices.synthesize(SessionConfig.voice, "Hello!")  # the voice's first run is the slow one
        return runtime

    def check_session(self, config: SessionConfig, old: SessionConfig, dialect: Dialect) -> None:
        """Raise ProtocolError naming what a session.update asks of this engine that it cannot do: a
        voice it does not have, a transcription language its recogniser does not know."""
        if config.voice != old.voice:
            try:
                self.voices.get(config.voice)
            except ConfigError as exc:
                raise ProtocolError("invalid_value", str(exc), param="session.voice") from None
        language, known = config.asr_hints.language, getattr(self.transcriber, "languages", None)
        if language != old.asr_hints.language and known is not None and language.split("-")[0].lower() not in known:
            where = "audio.input.transcription" if dialect is Dialect.GA else "input_audio_transcription"
            raise ProtocolError("invalid_value", f"transcription language {language!r} is not available here: the "
                                f"recogniser knows {', '.join(known)}", param=f"session.{where}.language")  # fmt: skip

    def warm_recogniser(self) -> None:
        """The recogniser's first run, the slow one (~0.7 s); blocking."""
        if not self._asr_warm:
            self.transcriber.transcribe(bytes(16000))
            self._asr_warm = True

    async def prepare_remembered(self) -> int:
        """Be ready for the sessions the calls used (bot/engine/warm_sessions.py): each one's brain
        index embedded and its likely openings in the TTS cache; how many were prepared."""
        from bot.engine.brain.base import ToolSpec
        from bot.engine.response import opening

        entries = self.warm_sessions.read()
        for entry in entries:
            tools = tuple(ToolSpec.from_wire(t) for t in entry.get("tools") or [])
            likely = await self.new_brain().prepare(entry["instructions"], tools)
            await self.warmup.fill(str(entry.get("voice") or SessionConfig.voice), [opening(line) for line in likely])
        return len(entries)

    def forget_loop(self) -> None:
        """After work on an event loop that is gone: its loop-bound helpers are made afresh."""
        self._warmup = None
        self._embedding.clear()
        self._aligning, self._aligned_job = asyncio.Lock(), None

    async def warm_openings(self) -> None:
        """The recogniser's first run (on its lane), then the stock openings into the TTS cache (~1.5 s
        of TTS), each yielding to the sessions' own work."""
        await self.pool.run("asr", self.warm_recogniser)
        await self.warmup.fill(SessionConfig.voice, STOCK_OPENINGS)

    async def speak_aligned(self, sentence: str, rate: float = 1.0, volume: float = 1.0,
                            pitch: float = 1.0) -> AlignedSpeech:  # fmt: skip
        """A sentence with where its words and visemes are (word boundaries, Voice Live timestamps); the
        voice is loaded on first use (~2 s: piper patches the model to report its alignments)."""
        voice = await self._aligned_voice()
        return await self.pool.run("tts", functools.partial(voice.speak, sentence, rate=rate, volume=volume,
                                                          pitch=pitch))  # fmt: skip

    def prepare_aligned(self) -> None:
        """A session will want word timings, visemes or prosody from the engine's own voice: it loads
        now, in the background, so that session's first reply does not wait for it."""
        if self._aligned is None and not self._aligning.locked() and isinstance(self.voices.default, PiperVoice):
            self._aligned_job = asyncio.ensure_future(self._aligned_voice())  # (the runtime owns it)
            self._aligned_job.add_done_callback(_loaded)

    async def _aligned_voice(self) -> AlignedVoice:
        """Loaded once (in a thread of its own: ~2 s of loading must not hold up the TTS lane's replies),
        with its first, slow run."""
        async with self._aligning:
            if self._aligned is None:
                self._aligned = await asyncio.to_thread(_load_aligned)
        return self._aligned

    def transcribe(self, pcm: bytes, hints: Hints) -> str:
        """Blocking; runs on the ASR lane."""
        start = time.perf_counter()
        try:
            return self.transcriber.transcribe(pcm, phrases=hints.phrases, prompt=hints.prompt, language=hints.language)
        finally:
            self.stats.record("asr_compute_ms", (time.perf_counter() - start) * 1000)

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors for `texts`; tool phrasings and facts repeat across sessions, so they are cached.
        Single flight: a text already being encoded for one session is awaited by the others, not
        encoded again (96 calls starting together once queued 96 encodings of the same index)."""
        wanted = list(dict.fromkeys(texts))
        missing = [t for t in wanted if t not in self.embed_cache and t not in self._embedding]
        if missing:
            job = asyncio.ensure_future(self._encode(missing))
            self._embedding.update(dict.fromkeys(missing, job))
        jobs = {self._embedding[t] for t in wanted if t not in self.embed_cache and t in self._embedding}
        if jobs:  # shielded: a session that goes away does not cancel what the others wait for
            await asyncio.gather(*(asyncio.shield(job) for job in jobs))
        return np.stack([self.embed_cache[t] for t in texts]) if texts else np.zeros((0, self.encoder.dim))

    async def _encode(self, texts: list[str]) -> None:
        try:
            vectors = await self.pool.run("brain", self.encoder.encode, texts)
            for text, vector in zip(texts, vectors, strict=True):
                self.embed_cache[text] = vector
                if len(self.embed_cache) > EMBED_CACHE_SIZE:  # overflow: forget the oldest entry
                    del self.embed_cache[next(iter(self.embed_cache))]
        finally:
            for text in texts:
                self._embedding.pop(text, None)

    async def settled(self) -> None:
        """Until the engine-wide jobs no session owns are done (encodings others may be waiting on, the
        aligned voice loading)."""
        jobs: list[asyncio.Future[Any]] = [*set(self._embedding.values())]
        jobs += [self._aligned_job] if self._aligned_job is not None else []
        await asyncio.gather(*jobs, return_exceptions=True)

    def new_brain(self) -> Brain:
        return brain_factory(self)

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.pool.close)
        await asyncio.to_thread(self.voices.close)


def _load_aligned() -> AlignedVoice:
    voice = AlignedVoice()
    voice.speak("Hello.")
    return voice


def _loaded(task: asyncio.Future[AlignedVoice]) -> None:
    """A voice loaded before it was asked for: a failure is logged (the reply that asks loads it again,
    and reports what fails)."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("loading the aligned voice failed", exc_info=exc)


def _recognizer(settings: Settings) -> SpeechToText:
    if settings.asr == "azure":
        from bot.engine.azure.recognizer import AzureRecognizer

        return AzureRecognizer(settings)
    return Transcriber(threads=settings.asr_threads)


def voice_bank(settings: Settings, local: PiperVoice | None) -> VoiceBank:
    """The session voices: piper (VOICEBOT_TTS=local), or Azure's by the session's voice name, the
    configured Azure voice for any other name (VOICEBOT_TTS=azure)."""
    if settings.tts == "local":
        assert local is not None
        return VoiceBank(local)
    from bot.engine.azure.voice import AzureVoice, is_azure_voice

    return VoiceBank(AzureVoice(settings, settings.azure_speech_voice),
                     lambda name: AzureVoice(settings, name) if is_azure_voice(name) else None)  # fmt: skip


def brain_factory(runtime: EngineRuntime) -> Brain:
    """A brain for a new session, of the kind the settings name."""
    if runtime.settings.brain == "openai":
        from bot.engine.brain.openai_chat import OpenAIChatBrain

        return OpenAIChatBrain(runtime.settings)
    return LocalBrain(runtime.embed)
