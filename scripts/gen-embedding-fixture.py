#!/usr/bin/env python3
"""Writes the reference vectors the inline::sentence-transformers parity test compares against.

Run ONCE, by hand, with the real sentence-transformers + torch, on the same weights the provider
loads (scripts/models.sh installs them). The output is committed; CI never runs this.

    python3 -m venv ~/.cache/llama-stack-rs/st-venv
    ~/.cache/llama-stack-rs/st-venv/bin/pip install sentence-transformers   # ~4 GB with torch
    ~/.cache/llama-stack-rs/st-venv/bin/python scripts/gen-embedding-fixture.py

Env: LLS_MODELS_DIR (default ~/.cache/llama-stack-rs/models). Writes
providers/inference/inline-sentence-transformers/tests/fixtures/all-MiniLM-L6-v2.json.
"""

import hashlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "providers/inference/inline-sentence-transformers/tests/fixtures/all-MiniLM-L6-v2.json"
MODEL = "all-MiniLM-L6-v2"

# Far past max_seq_length (256 tokens): the reference shows where truncation cuts.
LONG = " ".join(
    f"Paragraph {i}: the lighthouse keeper logged the tide, the wind from the north-east, and a passing freighter."
    for i in range(1, 21)
)

SENTENCES = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "a",
    "?",
    "",
    "Llama Stack standardizes the core building blocks that simplify AI application development.",
    "How do I reset my password?",
    "The stock market fell sharply today after the central bank raised interest rates by half a point.",
    "Café, naïve, façade, jalapeño: accents should survive lower-casing and normalisation.",
    "東京は日本の首都です。",
    "مرحبا بالعالم",
    "Привет, как дела?",
    "I love pizza 🍕🍕 and tacos 🌮!!! 😀",
    "def add(a, b):\n    return a + b  # Python code",
    "SELECT name, COUNT(*) FROM users WHERE created_at > '2024-01-01' GROUP BY name;",
    "   leading and trailing whitespace   ",
    "UPPERCASE SENTENCES ARE LOWER-CASED BY THE TOKENIZER",
    "e-mail me at someone@example.com or call +1 (555) 010-9999",
    "The mitochondria is the powerhouse of the cell.",
    "A llama grazes in the Andes while clouds drift over the snowy peaks.",
    LONG,
]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main() -> int:
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    models_dir = Path(os.environ.get("LLS_MODELS_DIR") or Path.home() / ".cache/llama-stack-rs/models")
    model_dir = models_dir / MODEL
    if not (model_dir / "model.safetensors").is_file():
        print(f"gen-embedding-fixture: {model_dir} has no model.safetensors; run scripts/models.sh", file=sys.stderr)
        return 1
    model = SentenceTransformer(str(model_dir), device="cpu")
    vectors = model.encode(SENTENCES, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
    tokens = [len(model.tokenizer(s, truncation=True, max_length=model.max_seq_length)["input_ids"]) for s in SENTENCES]
    doc = {
        "model": MODEL,
        "model_safetensors_sha256": sha256(model_dir / "model.safetensors"),
        "generated_by": f"scripts/gen-embedding-fixture.py with sentence-transformers {sentence_transformers.__version__}, "
        f"torch {torch.__version__} (CPU)",
        "max_seq_length": model.max_seq_length,
        "dimension": int(vectors.shape[1]),
        "items": [
            {"text": s, "tokens": n, "embedding": [float(f"{x:.8g}") for x in v.tolist()]}
            for s, n, v in zip(SENTENCES, tokens, vectors)
        ],
    }
    assert max(tokens) == model.max_seq_length, "the long input should be cut at max_seq_length"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # One line per item keeps the file diffable without a line per float.
    items = ",\n".join("  " + json.dumps(item, ensure_ascii=False) for item in doc.pop("items"))
    head = json.dumps(doc, ensure_ascii=False, indent=1)[:-2]
    OUT.write_text(f'{head},\n "items": [\n{items}\n ]\n}}\n', encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(SENTENCES)} sentences, {doc['dimension']} dims)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
