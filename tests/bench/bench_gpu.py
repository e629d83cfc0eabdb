"""`make bench-gpu` (`python -m tests.bench gpu`): full DeepSEA and DanQ on this node's GPU.

Prints one table, with the device named: for each model, precision (float32, mixed float16)
and batch size (100, and the largest that fits, tried from BENCH_GPU_MAX_BATCH down), the
training samples/s streamed from a gzip split file through ``H5Batches`` with reverse
complements, as ``seq2chrom train`` does, and the strand-averaged prediction samples/s
(``predict_split``, both strands computed); then the input pipeline's own rate, `gradient`
attributions/s and DeepSEA's variants/s with the scores HDF5 written. Goals on one
A100/H100-class GPU: DanQ >= 15,000 and DeepSEA >= 20,000 training samples/s.

Needs only numpy, h5py and Keras with any backend (TensorFlow, JAX or PyTorch: run with
KERAS_BACKEND=jax on a node whose JAX matches the driver) and ``workflow/`` on PYTHONPATH;
nothing imports TensorFlow unless it is the backend. ``tests/bench/gpu.sh`` wraps it for a
machine that cannot install packages.

Environment: BENCH_GPU_QUICK=1 (or ``--quick``) runs tiny sizes (small presets, 200 bp) so
the bench itself is tested on CPU; BENCH_GPU_SECONDS caps the run (default 330; later rows
print "skipped"); BENCH_GPU_SAMPLES sets the generated split's size; BENCH_GPU_MAX_BATCH the
largest batch tried (4096); BENCH_GPU_JSON writes the rows as JSON to that path.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

GOALS = {"danq": 15_000, "deepsea": 20_000}  # training samples/s, one A100/H100-class GPU
N_TRACKS = 919


@dataclass(frozen=True)
class Sizes:
    """What one run measures: preset, window, split size, steps per measurement, batches."""

    preset: str
    seq_len: int
    samples: int
    train_samples: int  # items per training measurement (steps = this / batch)
    predict_samples: int
    max_batch: int
    min_batch: int


FULL = Sizes("full", 1000, 60_000, 60_000, 20_000, 4096, 256)
QUICK = Sizes("small", 200, 600, 64, 64, 32, 16)


@dataclass
class Row:
    model: str
    precision: str
    batch: int
    train_per_s: float | None = None
    predict_per_s: float | None = None
    note: str = ""


def device_name() -> str:
    """The backend and the GPU it trains on, or CPU."""
    import keras
    from seq2chrom.devices import framework_gpus

    backend = keras.backend.backend()
    names, framework = framework_gpus(backend)
    where = f"{len(names)} x {names[0]}" if names else "CPU (no GPU visible)"
    return f"{where}; {framework}; Keras {keras.__version__}"


def write_split(path: Path, n: int, seq_len: int) -> None:
    """A split file through ``create_split_file`` (gzip chunks, as the data build writes)."""
    from seq2chrom.splitfile import TrackColumns, create_split_file

    rng = np.random.default_rng(0)
    names = [f"track{i}" for i in range(N_TRACKS)]
    columns = TrackColumns(names, ["TF"] * N_TRACKS, ["bench"] * N_TRACKS)
    attrs = {"bin_size": 200, "window": seq_len, "split": "train"}
    block = 4096
    codes = rng.integers(0, 4, (block, seq_len), dtype=np.uint8)
    x_block = np.eye(4, dtype=np.uint8)[codes]
    y_block = (rng.random((block, N_TRACKS)) < 0.02).astype(np.uint8)
    with create_split_file(path, columns, n, window=seq_len, attrs=attrs) as split:
        for start in range(0, n, block):
            stop = min(n, start + block)
            # rolled so that chunks differ (gzip would otherwise see repeats)
            split.x[start:stop] = np.roll(x_block, start // block, axis=1)[: stop - start]
            split.y[start:stop] = y_block[: stop - start]


class _Clock:
    """Keras callback factory: steady-state rate, the first `skip` batches excluded."""

    def __init__(self):
        import keras

        class Callback(keras.callbacks.Callback):
            def on_train_begin(inner, logs=None):
                self.ends = []

            def on_train_batch_end(inner, batch, logs=None):
                self.ends.append(time.perf_counter())

            def on_train_end(inner, logs=None):  # the last step has finished by now
                self.ends[-1] = time.perf_counter()

        self.callback = Callback()
        self.ends: list[float] = []

    def rate(self, batch: int, skip: int = 1) -> float:
        return (len(self.ends) - skip) * batch / (self.ends[-1] - self.ends[skip - 1])


def _is_oom(error: Exception) -> bool:
    text = f"{type(error).__name__} {error}".lower()
    return any(key in text for key in ("resource_exhausted", "out of memory", "outofmemory", "oom"))


def _model(name: str, sizes: Sizes, mixed: bool):
    import keras
    from seq2chrom.models import build_model
    from seq2chrom.training.optimizers import compile_model, optimizer_settings

    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
    keras.utils.set_random_seed(1)
    model = build_model(name, N_TRACKS, sizes.seq_len, sizes.preset)
    return compile_model(model, optimizer_settings(name, sizes.preset))


def largest_batch(name: str, sizes: Sizes, mixed: bool) -> int:
    """Largest batch (halving from sizes.max_batch) whose training step fits in memory."""
    batch = sizes.max_batch
    while batch >= sizes.min_batch:
        model = _model(name, sizes, mixed)
        x = np.zeros((batch, sizes.seq_len, 4), "float32")
        y = np.zeros((batch, N_TRACKS), "float32")
        try:
            model.train_on_batch(x, y)
            model.train_on_batch(x, y)
            return batch
        except Exception as error:  # noqa: BLE001 - each backend names OOM differently
            if not _is_oom(error):
                raise
            batch //= 2
    return sizes.min_batch


def measure(path: Path, name: str, sizes: Sizes, mixed: bool, batch: int) -> Row:
    """Training samples/s streamed from `path`, then strand-averaged prediction samples/s."""
    from seq2chrom.inference.predict import predict_split
    from seq2chrom.training.batches import H5Batches

    row = Row(name, "mixed_float16" if mixed else "float32", batch)
    model = _model(name, sizes, mixed)
    batches = H5Batches(path, batch, seed=1)
    steps = max(4, min(len(batches), sizes.train_samples // batch))
    clock = _Clock()
    model.fit(batches, epochs=1, steps_per_epoch=2, shuffle=False, verbose=0)  # compile
    model.fit(batches, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0,
              callbacks=[clock.callback])  # fmt: skip
    row.train_per_s = clock.rate(batch)
    batches.close()
    # predict on the first predict_samples rows: the same split file, both strands
    with tempfile.TemporaryDirectory() as folder:
        part = Path(folder) / "predict.h5"
        _head(path, part, sizes.predict_samples)
        predict_split(model, part, batch)  # compile
        started = time.perf_counter()
        n = len(predict_split(model, part, batch))
        row.predict_per_s = n / (time.perf_counter() - started)
    return row


def _head(path: Path, out: Path, n: int) -> None:
    """The first n rows of a split file into another (x only, as prediction reads)."""
    import h5py

    with h5py.File(path, "r") as source, h5py.File(out, "w") as target:
        x = source["x"]
        target.create_dataset(
            "x", data=x[:n], chunks=(min(n, x.chunks[0]), *x.shape[1:]), compression="gzip",
            compression_opts=1,
        )  # fmt: skip
        for key in ("tracks", "assays", "cell_types"):
            target.create_dataset(key, data=source[key][:], dtype=source[key].dtype)
        target.create_dataset("chrom", data=source["chrom"][:n], dtype=source["chrom"].dtype)
        target.create_dataset("start", data=source["start"][:n])
        target.attrs.update(dict(source.attrs))


def pipeline_rate(path: Path, batch: int, items: int) -> float:
    """Samples/s of ``H5Batches`` alone (read, decompress, shuffle, reverse-complement)."""
    from seq2chrom.training.batches import H5Batches

    batches = H5Batches(path, batch, seed=1)
    n = min(len(batches), max(2, items // batch))
    batches[0]
    started = time.perf_counter()
    for i in range(1, n):
        batches[i]
    rate = (n - 1) * batch / (time.perf_counter() - started)
    batches.close()
    return rate


def table(rows: list[Row], device: str, sizes: Sizes, pipeline: dict[int, float]) -> str:
    """The printed table: one row per model, precision and batch; goals beside the rates."""
    lines = [
        f"device: {device}",
        f"models: {sizes.preset} presets, {sizes.seq_len} bp, {N_TRACKS} tracks; split of "
        f"{sizes.samples:,} samples (gzip HDF5, reverse complements on the fly)",
        "",
        f"{'model':8} {'precision':14} {'batch':>6} {'train/s':>10} {'predict/s':>10} "
        f"{'goal train/s':>13} {'met':>4}  note",
    ]
    for row in rows:
        goal = GOALS[row.model]
        rate = "-" if row.train_per_s is None else f"{row.train_per_s:,.0f}"
        predict = "-" if row.predict_per_s is None else f"{row.predict_per_s:,.0f}"
        met = "-" if row.train_per_s is None else ("yes" if row.train_per_s >= goal else "no")
        lines.append(
            f"{row.model:8} {row.precision:14} {row.batch:>6} {rate:>10} {predict:>10} "
            f"{goal:>13,} {met:>4}  {row.note}"
        )
    lines.append("")
    for batch, rate in pipeline.items():
        lines.append(f"input pipeline alone (H5Batches, 1 thread), batch {batch}: {rate:,.0f}/s")
    return "\n".join(lines)


def attribution_rates(sizes: Sizes, quick: bool, deadline: float) -> None:
    """Print `seq2chrom attribute`'s `gradient` windows/s for both models (bench_attributions;
    goal: full DanQ >= 5,000 on one A100/H100-class GPU)."""
    if time.perf_counter() > deadline:
        print("attributions: skipped: time cap", flush=True)
        return
    from tests.bench.bench_attributions import GPU_GOAL, gpu_rates

    try:
        rates = gpu_rates(sizes.preset, 256 if quick else 20_000, 64 if quick else 1024)
    except Exception as error:  # noqa: BLE001 - a failure is printed, the table stands
        print(f"attributions: failed: {str(error)[:120]}", flush=True)
        return
    shown = ", ".join(f"{name} {rate:,.0f}" for name, rate in rates.items())
    print(f"attributions (gradient, both strands, {sizes.preset}): {shown} windows/s "
          f"(goal: danq >= {GPU_GOAL:,})", flush=True)  # fmt: skip


def variant_rates(sizes: Sizes, quick: bool, deadline: float) -> None:
    """Print DeepSEA's variants/s (reference and alternative, both strands) with the scores
    HDF5 written, in this process (bench_variants.score_rate; the whole `score-variants` job
    is `bench_variants.variant_rates`, where seq2chrom is installed). Goal with full DeepSEA on
    one A100/H100-class GPU: >= 20,000."""
    if time.perf_counter() > deadline:
        print("variants: skipped: time cap", flush=True)
        return
    try:
        import keras
        from seq2chrom.models import build_model

        from tests.bench.bench_variants import GOAL_GPU, random_variants, score_rate

        n, batch = (256, 64) if quick else (100_000, 1024)
        keras.backend.clear_session()
        model = build_model("deepsea", N_TRACKS, sizes.seq_len, sizes.preset)
        sequence, variants = random_variants(n, max(2_000_000, 4 * n), np.random.default_rng(0))
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_GPU_DIR")) as folder:
            score_rate(model, sequence, variants.head(2 * batch), batch)  # compile, warm up
            rate = score_rate(model, sequence, variants, batch, h5=Path(folder) / "scores.h5")
    except Exception as error:  # noqa: BLE001 - a failure is printed, the table stands
        print(f"variants: failed: {str(error)[:120]}", flush=True)
        return
    print(f"variants (deepsea {sizes.preset}, {n:,} SNVs, batch {batch}, scores HDF5 written): "
          f"{rate:,.0f} variants/s (goal: full >= {GOAL_GPU:,})", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv or os.environ.get("BENCH_GPU_QUICK") == "1"
    sizes = QUICK if quick else FULL
    if os.environ.get("BENCH_GPU_SAMPLES"):
        n = int(os.environ["BENCH_GPU_SAMPLES"])
        sizes = Sizes(**{**asdict(sizes), "samples": n, "train_samples": min(n, sizes.samples)})
    if os.environ.get("BENCH_GPU_MAX_BATCH"):
        sizes = Sizes(**{**asdict(sizes), "max_batch": int(os.environ["BENCH_GPU_MAX_BATCH"])})
    deadline = time.perf_counter() + float(os.environ.get("BENCH_GPU_SECONDS", 330))
    device = device_name()
    print(f"device: {device}", flush=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_GPU_DIR")) as folder:
        path = Path(folder) / "train.h5"
        started = time.perf_counter()
        write_split(path, sizes.samples, sizes.seq_len)
        print(f"wrote {sizes.samples:,} samples in {time.perf_counter() - started:.1f} s")
        small = 16 if quick else 100
        pipeline = {small: pipeline_rate(path, small, sizes.train_samples)}
        # most telling first: the time cap skips the largest batches before batch 100
        plan = [(m, mixed, None) for mixed in (False, True) for m in ("danq", "deepsea")]
        plan = [(m, mixed, small) for m, mixed, _ in plan] + plan
        if quick:  # every code path once: batch 100 (here 16) and the largest batch search
            plan = [("danq", False, small), ("deepsea", True, None)]
        for name, mixed, batch in plan:
            precision = "mixed_float16" if mixed else "float32"
            if time.perf_counter() > deadline:
                rows.append(Row(name, precision, batch or 0, note="skipped: time cap"))
                continue
            try:
                size = batch or largest_batch(name, sizes, mixed)
                row = measure(path, name, sizes, mixed, size)
                if batch is None:
                    row.note = f"largest of <= {sizes.max_batch} that fits"
            except Exception as error:  # noqa: BLE001 - one failed row must not hide the rest
                row = Row(name, precision, batch or 0, note=f"failed: {str(error)[:80]}")
            rows.append(row)
            print(f"  {asdict(row)}", flush=True)
        for batch in sorted({r.batch for r in rows if r.batch and r.batch != small}):
            if time.perf_counter() < deadline:
                pipeline[batch] = pipeline_rate(path, batch, sizes.train_samples)
    print(table(rows, device, sizes, pipeline), flush=True)
    attribution_rates(sizes, quick, deadline)
    variant_rates(sizes, quick, deadline)
    if os.environ.get("BENCH_GPU_JSON"):
        record = {"device": device, "sizes": asdict(sizes), "rows": [asdict(r) for r in rows],
                  "pipeline": pipeline}  # fmt: skip
        Path(os.environ["BENCH_GPU_JSON"]).write_text(json.dumps(record, indent=1))
    with contextlib.suppress(Exception):
        import keras

        keras.mixed_precision.set_global_policy("float32")


if __name__ == "__main__":
    main()
