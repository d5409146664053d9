"""PyTorch sentence-transformers side of `cargo xtask bench embeddings` (run in the st-venv).

    python embeddings_bench.py SENTENCES_FILE MODEL_DIR BATCH_SIZE ROUNDS VECTORS_OUT

Embeds every line of SENTENCES_FILE once to warm up, then ROUNDS times; prints one JSON object
(the best round) and writes the vectors as little-endian f32 to VECTORS_OUT.
"""

import json
import sys
import time


def main() -> int:
    path, model_dir, batch_size, rounds, vectors_out = sys.argv[1:6]
    batch_size, rounds = int(batch_size), int(rounds)
    import numpy as np
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    with open(path, encoding="utf-8") as f:
        sentences = f.read().split("\n")
    if sentences and sentences[-1] == "":
        sentences.pop()
    started = time.perf_counter()
    model = SentenceTransformer(model_dir, device="cpu")
    load_seconds = time.perf_counter() - started
    model.encode(sentences, batch_size=batch_size, show_progress_bar=False)
    best, vectors = float("inf"), None
    for _ in range(rounds):
        t = time.perf_counter()
        vectors = model.encode(sentences, batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True)
        best = min(best, time.perf_counter() - t)
    np.asarray(vectors, dtype="<f4").tofile(vectors_out)
    print(json.dumps({
        "engine": f"sentence-transformers {sentence_transformers.__version__} (PyTorch {torch.__version__})",
        "sentences": len(sentences),
        "batch_size": batch_size,
        "threads": torch.get_num_threads(),
        "load_seconds": load_seconds,
        "seconds": best,
        "sentences_per_second": len(sentences) / best,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
