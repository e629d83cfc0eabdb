"""`make bench` (train): input-pipeline and training throughput, streaming vs in-memory.

Prints, for a generated split of N x 1000 x 4 (default 200,000; BENCH_TRAIN_SAMPLES to
change): samples/s of the H5Batches pipeline alone, then for each model and preset the
training samples/s through the pipeline next to a bare ``model.fit`` on in-memory arrays in
the same process (medians of repeats, ratio = pipeline / bare). Runs on the GPU when one is
visible; on CPU the full models get few steps, so their numbers are rough. Rates are steady
state: the time from the end of each fit's first batch to the end of its last, so fit setup
(tracing, the adapter's first reads) is excluded on both sides alike.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

SEQ_LEN, N_TRACKS, BATCH = 1000, 919, 100


def _write_split(path: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    eye = np.eye(4, dtype=np.uint8)
    with h5py.File(path, "w") as handle:
        x = handle.create_dataset("x", (n, SEQ_LEN, 4), "uint8", chunks=(256, SEQ_LEN, 4))
        y = handle.create_dataset("y", (n, N_TRACKS), "uint8", chunks=(256, N_TRACKS))
        block = eye[rng.integers(0, 4, (8192, SEQ_LEN))]
        labels = (rng.random((8192, N_TRACKS)) < 0.02).astype(np.uint8)
        for start in range(0, n, 8192):
            stop = min(n, start + 8192)
            x[start:stop] = block[: stop - start]
            y[start:stop] = labels[: stop - start]


def _pipeline(path: Path, repeats: int = 3) -> None:
    from seq2chrom.training.batches import H5Batches

    for workers in (1, 2):
        rates = []
        batches = H5Batches(path, BATCH, seed=1, workers=workers)
        n_batches = min(len(batches), 2000)  # 200,000 items per measurement
        for epoch in range(repeats):
            batches.set_epoch(epoch)
            started = time.perf_counter()
            if workers == 1:
                for i in range(n_batches):
                    batches[i]
            else:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(workers) as pool:
                    for _ in pool.map(batches.__getitem__, range(n_batches)):
                        pass
            rates.append(n_batches * BATCH / (time.perf_counter() - started))
        batches.close()
        print(
            f"input pipeline, {workers} thread(s): median {statistics.median(rates):,.0f} "
            f"samples/s of {SEQ_LEN}x4 (runs: {', '.join(f'{r:,.0f}' for r in rates)}; "
            f"goal >= 20,000)",
            flush=True,
        )


def _training(path: Path, name: str, preset: str, steps: int, repeats: int) -> None:
    import keras
    from seq2chrom.models import build_model
    from seq2chrom.training.batches import H5Batches
    from seq2chrom.training.optimizers import compile_model, optimizer_settings

    keras.utils.set_random_seed(1)
    model = build_model(name, N_TRACKS, SEQ_LEN, preset)
    compile_model(model, optimizer_settings(name, preset))
    batches = H5Batches(path, BATCH, seed=1)
    with h5py.File(path, "r") as handle:
        x = handle["x"][: steps * BATCH].astype(np.float32)
        y = handle["y"][: steps * BATCH].astype(np.float32)

    class Clock(keras.callbacks.Callback):
        """Steady-state rate: batches after the first `skip` (fit setup, first read) only."""

        def on_train_begin(self, logs=None):
            self.ends = []

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(time.perf_counter())

        def rate(self, skip: int = 1) -> float:
            return (len(self.ends) - skip) * BATCH / (self.ends[-1] - self.ends[skip - 1])

    clock = Clock()

    def streamed() -> float:
        model.fit(batches, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0,
                  callbacks=[clock])  # fmt: skip
        return clock.rate()

    def in_memory() -> float:
        model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[clock])
        return clock.rate()

    streamed(), in_memory()  # trace and warm up both paths
    pipe, bare = [], []
    for _ in range(repeats):  # interleaved so load changes hit both alike
        pipe.append(streamed())
        bare.append(in_memory())
    p, b = statistics.median(pipe), statistics.median(bare)
    print(
        f"train {name:12s} {preset:5s} {model.count_params():>11,d} params: "
        f"pipeline {p:9,.0f} samples/s | bare fit {b:9,.0f} samples/s | ratio {p / b:.2f} "
        f"({steps} steps x {BATCH}, {repeats} repeats)",
        flush=True,
    )
    keras.backend.clear_session()


def main() -> None:
    from seq2chrom.devices import visible_gpus

    n = int(os.environ.get("BENCH_TRAIN_SAMPLES", 200_000))
    gpus = visible_gpus()
    import keras

    print(f"backend {keras.backend.backend()}, GPUs visible: {gpus}, CPU cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.h5"
        started = time.perf_counter()
        _write_split(path, n)
        print(f"generated {n:,} x {SEQ_LEN} x 4 in {time.perf_counter() - started:.1f} s")
        _pipeline(path)
        runs = [
            ("deepsea", "small", 80, 5),
            ("danq", "small", 40, 5),
            ("danq_jaspar", "small", 20, 3),
            ("deepsea", "full", 6, 2),
            ("danq", "full", 6, 2),
        ]
        if gpus:
            runs = [(m, p, 200, 3) for m, p, _, _ in runs] + [("danq_jaspar", "full", 200, 3)]
        for name, preset, steps, repeats in runs:
            _training(path, name, preset, steps, repeats)


if __name__ == "__main__":
    main()
