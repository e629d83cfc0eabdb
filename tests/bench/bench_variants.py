"""Variant scoring speed: variants/s of `scored_batches` (reference, alternative and both
strands of each variant in one forward pass) for DeepSEA and DanQ, small and full presets, 919
tracks, on random SNVs of a random 2 Mb chromosome; and the cost of writing the effects table
(one row per variant and track, gzip) on top. The table writer alone is timed first, in rows/s,
beside the pandas writer it replaced (`effect_rows` + ``DataFrame.to_csv`` + gzip level 1):
median of 3, wall-clock and CPU time (CPU time is the fair figure on a shared machine).

`python -m tests.bench variants` prints the CPU rates (`make bench`). `variant_rates()` is the
part `make bench-gpu` calls on a GPU: the same measurement with larger batches, returning rows.
Goal on one A100/H100-class GPU: at least 2,000 variants/s with full DeepSEA.

Environment: BENCH_VARIANTS_SMALL and BENCH_VARIANTS_FULL set the variants scored per small and
full model on CPU (defaults 512 and 64); BENCH_WRITER_VARIANTS the variants per writer timing
(default 512, i.e. 470,528 rows); BENCH_VARIANTS_MODELS=0 times the writer only.
"""

from __future__ import annotations

import gzip
import io
import os
import time
import zlib

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
    """Variants/s of scoring `variants` (and, with `write`, the effects table written by
    `EffectsWriter`, in its thread, while the next batch is predicted)."""
    from seq2chrom.variants.score import EffectsWriter, scored_batches

    tracks = track_names(int(model.output_shape[-1]))
    started = time.perf_counter()
    with EffectsWriter(io.BytesIO(), tracks) as writer:
        for batch in scored_batches(model, lambda name: sequence, variants, batch_size):
            if write:
                writer.write(batch.variants, batch.ref_prob, batch.alt_prob)
    return len(variants) / (time.perf_counter() - started)


def track_names(n: int) -> list[str]:
    """`n` names as long as DeepSEA's (cell|target|treatment)."""
    return [f"K562|TF_{j}|None" for j in range(n)]


def pandas_table(variants, ref_prob, alt_prob, tracks) -> bytes:
    """The effects table as the first writer made it: pandas to_csv into gzip level 1."""
    from seq2chrom.variants.score import EFFECT_COLUMNS, effect_rows

    sink = io.BytesIO()
    with gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=1) as raw:
        handle = io.TextIOWrapper(raw)
        handle.write("\t".join(EFFECT_COLUMNS) + "\n")
        rows = effect_rows(variants, ref_prob, alt_prob, tracks)
        rows.to_csv(handle, sep="\t", header=False, index=False)
        handle.flush()
    return sink.getvalue()


def table_writers() -> dict:
    """name -> function(variants, ref_prob, alt_prob, tracks) -> bytes, before and after."""
    from seq2chrom.variants.score import EffectsWriter, effect_text

    def writer(variants, ref_prob, alt_prob, tracks) -> bytes:
        sink = io.BytesIO()
        with EffectsWriter(sink, tracks) as table:
            table.write(variants, ref_prob, alt_prob)
        return sink.getvalue()

    def with_zlib(level: int):
        def write(variants, ref_prob, alt_prob, tracks) -> bytes:
            packer = zlib.compressobj(level, zlib.DEFLATED, 31)
            text = effect_text(variants, ref_prob, alt_prob, tracks)
            return packer.compress(text) + packer.flush()

        return write

    return {
        "before: pandas + gzip 1": pandas_table,
        "after: EffectsWriter": writer,
        "after, text only": effect_text,
        "after, zlib level 1": with_zlib(1),
        "after, zlib level 3": with_zlib(3),
        "after, zlib level 6": with_zlib(6),
    }


def writer_rates(n_variants: int = 512, n_tracks: int = N_TRACKS, repeats: int = 3, seed=0):
    """Rows/s of each of `table_writers` on one block of `n_variants` x `n_tracks` rows.

    Probabilities spread over several decades, like a trained model's. Each row: writer,
    rows, wall_rows_per_s and cpu_rows_per_s (medians of `repeats`), megabytes written.
    """
    rng = np.random.default_rng(seed)
    _, variants = random_variants(n_variants, 100_000, rng)
    ref = rng.random((n_variants, n_tracks)).astype(np.float32) ** 3
    alt = np.clip(ref + rng.normal(0, 0.02, ref.shape).astype(np.float32), 0, 1)
    tracks = track_names(n_tracks)
    rows = []
    for name, write in table_writers().items():
        write(variants.head(2), ref[:2], alt[:2], tracks)  # warm-up (compiles the writer)
        wall, cpu = [], []
        for _ in range(repeats):
            started, cpu_started = time.perf_counter(), time.process_time()
            data = write(variants, ref, alt, tracks)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        n_rows = n_variants * n_tracks
        rows.append({"writer": name, "rows": n_rows,
                     "wall_rows_per_s": n_rows / float(np.median(wall)),
                     "cpu_rows_per_s": n_rows / float(np.median(cpu)),
                     "megabytes": len(data) / 1e6})  # fmt: skip
    return rows


def variant_rates(
    models=("deepsea", "danq"),
    preset: str = "full",
    n_variants: int = 20_000,
    batch_sizes=(256, 512, 1024),
    seed: int = 0,
) -> list[dict]:
    """Variants/s per model and batch size, for `make bench-gpu`.

    Each row: model, preset, batch (variants per forward pass; the model sees 4x as many
    sequences), variants, variants_per_s (scoring only) and written_per_s (scoring with the
    effects table written, as `score-variants` does). A warm-up batch runs before each timing.
    """
    from seq2chrom.models import build_model

    rng = np.random.default_rng(seed)
    sequence, variants = random_variants(n_variants, 2_000_000, rng)
    rows = []
    for name in models:
        model = build_model(name, N_TRACKS, 1000, preset)
        for batch in batch_sizes:
            score_rate(model, sequence, variants.head(batch), batch, write=True)  # warm-up, compile
            rate = score_rate(model, sequence, variants, batch)
            written = score_rate(model, sequence, variants, batch, write=True)
            rows.append({"model": name, "preset": preset, "batch": batch,
                         "variants": n_variants, "variants_per_s": rate,
                         "written_per_s": written})  # fmt: skip
    return rows


def main() -> None:
    from seq2chrom.models import build_model

    n_writer = int(os.environ.get("BENCH_WRITER_VARIANTS", 512))
    print(f"effects table writer: {n_writer} variants x {N_TRACKS} tracks, median of 3")
    print(f"{'writer':26} {'rows/s wall':>12} {'rows/s CPU':>12} {'MB':>6}")
    for row in writer_rates(n_writer):
        print(f"{row['writer']:26} {row['wall_rows_per_s']:12,.0f} {row['cpu_rows_per_s']:12,.0f}"
              f" {row['megabytes']:6.1f}", flush=True)  # fmt: skip
    if os.environ.get("BENCH_VARIANTS_MODELS", "1") == "0":
        return
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
            score_rate(model, sequence, variants.head(8), 8, write=True)  # warm-up
            rate = score_rate(model, sequence, variants.head(n), 128)
            written = score_rate(model, sequence, variants.head(n), 128, write=True)
            print(f"{name:8} {preset:6} {n:8d} {rate:10.1f} {written:12.1f}", flush=True)
    print(f"goal on a GPU: >= {GOAL_GPU:,} variants/s with full DeepSEA (make bench-gpu)")


if __name__ == "__main__":
    main()
