"""Variant scoring speed: variants/s of `scored_batches` (reference, alternative and both
strands of each variant in one forward pass) for DeepSEA and DanQ, small and full presets, 919
tracks, on random SNVs of a random 2 Mb chromosome; and the cost of writing the effects table
(one row per variant and track, gzip) on top.

`python -m tests.bench variants` prints the CPU rates (`make bench`). `variant_rates()` is the
part `make bench-gpu` calls on a GPU: the same measurement with larger batches, returning rows.
Goal on one A100/H100-class GPU: at least 2,000 variants/s with full DeepSEA.

Environment: BENCH_VARIANTS_SMALL and BENCH_VARIANTS_FULL set the variants scored per small and
full model on CPU (defaults 512 and 64).
"""

from __future__ import annotations

import gzip
import io
import os
import time

import numpy as np
import pandas as pd

N_TRACKS = 919
GOAL_GPU = 2_000  # variants/s, full DeepSEA, one A100/H100-class GPU


def random_variants(n: int, length: int, rng: np.random.Generator):
    """A random chromosome ``(length,)`` uint8 ASCII and `n` SNVs on it (vcf.COLUMNS +
    genome_chrom), sorted by position."""
    sequence = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, length)]
    pos0 = np.sort(rng.choice(np.arange(1000, length - 1000), n, replace=False))
    ref = sequence[pos0].tobytes().decode()
    alt = [("ACGT".replace(base, ""))[rng.integers(0, 3)] for base in ref]
    variants = pd.DataFrame(
        {"variant_id": [f"v{i}" for i in range(n)], "chrom": "chr1", "pos": pos0 + 1,
         "ref": list(ref), "alt": alt, "line": np.arange(n), "genome_chrom": "chr1"}
    )  # fmt: skip
    return sequence, variants


def score_rate(model, sequence, variants, batch_size: int, write: bool = False) -> float:
    """Variants/s of scoring `variants` (and, with `write`, formatting and gzipping the rows)."""
    from seq2chrom.variants.score import effect_rows, scored_batches

    tracks = [f"t{j}" for j in range(int(model.output_shape[-1]))]
    sink = io.BytesIO()
    started = time.perf_counter()
    with gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=1) as raw:
        handle = io.TextIOWrapper(raw)
        for batch in scored_batches(model, lambda name: sequence, variants, batch_size):
            if write:
                rows = effect_rows(batch.variants, batch.ref_prob, batch.alt_prob, tracks)
                rows.to_csv(handle, sep="\t", header=False, index=False)
        handle.flush()
    return len(variants) / (time.perf_counter() - started)


def variant_rates(
    models=("deepsea", "danq"),
    preset: str = "full",
    n_variants: int = 20_000,
    batch_sizes=(256, 512, 1024),
    seed: int = 0,
) -> list[dict]:
    """Variants/s per model and batch size (scoring only), for `make bench-gpu`.

    Each row: model, preset, batch (variants per forward pass; the model sees 4x as many
    sequences), variants, variants_per_s. A warm-up batch runs before each timing.
    """
    from seq2chrom.models import build_model

    rng = np.random.default_rng(seed)
    sequence, variants = random_variants(n_variants, 2_000_000, rng)
    rows = []
    for name in models:
        model = build_model(name, N_TRACKS, 1000, preset)
        for batch in batch_sizes:
            score_rate(model, sequence, variants.head(batch), batch)  # warm-up, compile
            rate = score_rate(model, sequence, variants, batch)
            rows.append({"model": name, "preset": preset, "batch": batch,
                         "variants": n_variants, "variants_per_s": rate})  # fmt: skip
    return rows


def main() -> None:
    from seq2chrom.models import build_model

    sizes = {
        "small": int(os.environ.get("BENCH_VARIANTS_SMALL", 512)),
        "full": int(os.environ.get("BENCH_VARIANTS_FULL", 64)),
    }
    rng = np.random.default_rng(0)
    sequence, variants = random_variants(max(sizes.values()), 2_000_000, rng)
    print(f"{'model':8} {'preset':6} {'variants':>8} {'scoring/s':>10} {'+ writing/s':>12}")
    for preset, n in sizes.items():
        for name in ("deepsea", "danq"):
            model = build_model(name, N_TRACKS, 1000, preset)
            score_rate(model, sequence, variants.head(8), 8)  # warm-up
            rate = score_rate(model, sequence, variants.head(n), 128)
            written = score_rate(model, sequence, variants.head(n), 128, write=True)
            print(f"{name:8} {preset:6} {n:8d} {rate:10.1f} {written:12.1f}", flush=True)
    print(f"goal on a GPU: >= {GOAL_GPU:,} variants/s with full DeepSEA (make bench-gpu)")


if __name__ == "__main__":
    main()
