"""Variant scoring speed and memory.

1. The effects-table writer alone, in rows/s, beside the pandas writer it replaced
   (`effect_rows` + ``DataFrame.to_csv`` + gzip level 1): median of 3, wall-clock and CPU time
   (CPU time is the fair figure on a shared machine).
2. Variants/s of `scored_batches` (reference, alternative and both strands of each variant) for
   DeepSEA and DanQ, small and full presets, 919 tracks, on random SNVs of a random 2 Mb
   chromosome, and with the effects table written on top.
3. Streaming: `seq2chrom score-variants` as a child process on VCFs of N random SNVs (default
   100,000 and 1,000,000) with small DeepSEA (919 tracks, untrained) on the CPU, writing every
   output (HDF5 scores, top table, annotated VCF + tabix index; the long table off, as `auto`
   does above 10,000 variants): variants/s (the job's own count, start-up excluded) and the
   child's peak resident memory (``os.wait4``), and their ratio between sizes. The goal: the
   largest VCF's peak at most 1.2x the smallest's.

`python -m tests.bench variants` prints all three (`make bench`). `variant_rates()` is the part
for a GPU: scoring and the HDF5 outputs with larger batches, returning rows. Goal on one
A100/H100-class GPU: at least 20,000 variants/s with full DeepSEA and the HDF5 outputs.

Environment: BENCH_VARIANTS_SMALL and BENCH_VARIANTS_FULL set the variants scored per small and
full model on CPU (defaults 512 and 64); BENCH_WRITER_VARIANTS the variants per writer timing
(default 512, i.e. 470,528 rows); BENCH_VARIANTS_MODELS=0 skips part 2;
BENCH_VARIANTS_STREAM the VCF sizes of part 3 (comma-separated, default 100000,1000000; 0
skips it).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

N_TRACKS = 919
GOAL_GPU = 20_000  # variants/s, full DeepSEA with the HDF5 outputs, one A100/H100-class GPU
GOAL_MEMORY_RATIO = 1.2  # peak memory of the largest VCF / the smallest


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


def score_rate(model, sequence, variants, batch_size: int, write: bool = False,
               h5: Path | None = None) -> float:  # fmt: skip
    """Variants/s of scoring `variants` (and, with `write`, the effects table written by
    `EffectsWriter`, in its thread, while the next batch is predicted; with `h5`, the scores
    matrices and variant table written there by `ScoresWriter`, as `score-variants` does)."""
    from seq2chrom.inference.predict import predict_both_strands
    from seq2chrom.variants.effects import EffectsWriter
    from seq2chrom.variants.score import scored_batches
    from seq2chrom.variants.store import ScoresWriter

    tracks = track_names(int(model.output_shape[-1]))
    columns = {"chrom": object, "pos": np.int64, "ref": object, "alt": object}
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(EffectsWriter(io.BytesIO(), tracks))
        scores = stack.enter_context(ScoresWriter(h5, tracks, columns)) if h5 else None
        batches = scored_batches(model, lambda name: sequence, variants, batch_size,
                                 predict=predict_both_strands)  # fmt: skip
        for batch in batches:
            if write:
                writer.write(batch.variants, batch.ref_prob, batch.alt_prob)
            if scores is not None:
                table = {c: batch.variants[c].to_numpy() for c in columns}
                scores.append(table, {"ref_prob": batch.ref_prob, "alt_prob": batch.alt_prob})
    return len(variants) / (time.perf_counter() - started)


def track_names(n: int) -> list[str]:
    """`n` names as long as DeepSEA's (cell|target|treatment)."""
    return [f"K562|TF_{j}|None" for j in range(n)]


def pandas_table(variants, ref_prob, alt_prob, tracks) -> bytes:
    """The effects table as the first writer made it: pandas to_csv into gzip level 1."""
    from seq2chrom.variants.effects import EFFECT_COLUMNS
    from seq2chrom.variants.score import effect_rows

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
    from seq2chrom.variants.effects import EffectsWriter, effect_text

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


def write_inputs(folder: Path, n: int, seed: int = 0) -> tuple[Path, Path]:
    """A FASTA of one random chromosome (4 bp per variant, at least 2 Mb) and a VCF of `n`
    random SNVs on it, sorted; returns (genome, vcf)."""
    rng = np.random.default_rng(seed)
    length = max(2_000_000, 4 * n)
    sequence, variants = random_variants(n, length, rng)
    genome = folder / f"genome_{n}.fa"
    with open(genome, "w") as handle:
        handle.write(">chr1\n")
        text = sequence.tobytes().decode()
        handle.writelines(text[i : i + 60] + "\n" for i in range(0, len(text), 60))
    vcf = folder / f"snvs_{n}.vcf"
    with open(vcf, "w") as handle:
        handle.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        handle.writelines(
            f"chr1\t{p}\t{i}\t{r}\t{a}\t.\t.\t.\n"
            for i, p, r, a in zip(variants["variant_id"], variants["pos"], variants["ref"],
                                  variants["alt"], strict=True)
        )  # fmt: skip
    return genome, vcf


def save_model(folder: Path, name: str = "deepsea", preset: str = "small") -> Path:
    """An untrained `name` model of `preset` with 919 tracks, saved as a trained one is."""
    import yaml
    from seq2chrom.models import build_model

    folder.mkdir(parents=True, exist_ok=True)
    build_model(name, N_TRACKS, 1000, preset).save(folder / "model.keras")
    (folder / "config.yaml").write_text(yaml.safe_dump({"tracks": track_names(N_TRACKS)}))
    return folder / "model.keras"


_RATE = re.compile(r"(\d+) variants scored on \d+ tracks .* in ([\d.]+) s \(([\d.]+) variants/s\)")


def stream_run(model: Path, genome: Path, vcf: Path, out: Path, device: str = "cpu",
               batch_size: int = 0) -> dict:  # fmt: skip
    """`seq2chrom score-variants` on `vcf` in a child process: its rate and peak memory."""
    command = [str(Path(sys.executable).parent / "seq2chrom"), "score-variants", "--model",
               str(model), "--genome", str(genome), "--vcf", str(vcf), "--device", device,
               "--tsv-tracks", "--batch-size", str(batch_size), "--out", str(out)]  # fmt: skip
    log = out.with_suffix(".log")
    started = time.perf_counter()
    with open(log, "w") as handle:
        child = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not all children's
    wall = time.perf_counter() - started
    text = log.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"score-variants failed:\n{text[-3000:]}")
    scored, seconds, rate = _RATE.search(text).groups()
    sizes = sum(p.stat().st_size for p in out.parent.glob(out.stem + ".*") if p != log)
    return {"variants": int(scored), "seconds": float(seconds), "variants_per_s": float(rate),
            "wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024,
            "outputs_mb": sizes / 1e6}  # fmt: skip


def stream_rates(sizes=(100_000, 1_000_000), device: str = "cpu", name: str = "deepsea",
                 preset: str = "small", batch_size: int = 0) -> list[dict]:  # fmt: skip
    """`stream_run` on VCFs of each of `sizes` random SNVs, in a temporary folder."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_variants_") as tmp:
        folder = Path(tmp)
        model = save_model(folder / "model", name, preset)
        for n in sizes:
            genome, vcf = write_inputs(folder, n)
            row = stream_run(model, genome, vcf, folder / f"out_{n}.h5", device, batch_size)
            rows.append({"model": name, "preset": preset, **row})
            for path in folder.glob(f"*_{n}*"):
                path.unlink()
    return rows


def variant_rates(
    models=("deepsea",),
    preset: str = "full",
    n_variants: int = 200_000,
    batch_sizes=(512, 1024),
) -> list[dict]:
    """Variants/s per model and batch size on a GPU: `stream_rates` (scoring with the HDF5
    scores, top table and annotated VCF written) of `n_variants` SNVs."""
    return [
        {**row, "batch": batch}
        for name in models
        for batch in batch_sizes
        for row in stream_rates((n_variants,), "gpu", name, preset, batch)
    ]


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
    stream_sizes = [int(v) for v in os.environ.get("BENCH_VARIANTS_STREAM",
                                                 "100000,1000000").split(",")]  # fmt: skip
    if stream_sizes != [0]:
        print("streaming score-variants, small DeepSEA (919 tracks) on the CPU, every output "
              "but the long table:")  # fmt: skip
        print(f"{'variants':>9} {'variants/s':>10} {'wall s':>8} {'peak RSS MB':>12} "
              f"{'outputs MB':>11}")  # fmt: skip
        rows = []
        for n in stream_sizes:
            (row,) = stream_rates((n,))
            rows.append(row)
            print(f"{row['variants']:9d} {row['variants_per_s']:10.1f} {row['wall_s']:8.1f} "
                  f"{row['peak_rss_mb']:12.0f} {row['outputs_mb']:11.1f}", flush=True)  # fmt: skip
        if len(rows) > 1:
            ratio = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
            print(f"peak memory {rows[-1]['variants']:,} / {rows[0]['variants']:,} variants: "
                  f"{ratio:.2f}x (goal <= {GOAL_MEMORY_RATIO}x)")  # fmt: skip
    print(f"goal on a GPU: >= {GOAL_GPU:,} variants/s with full DeepSEA and the HDF5 outputs")


if __name__ == "__main__":
    main()
