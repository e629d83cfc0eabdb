"""`make bench` (presets): do the `small` presets train on data that is not the demo?

For every data shape of `tests.bench.shapes` (balanced two- and three-track sets as a user's own
ChIP-seq gives, weak and strong motifs, a GC-rich background, sparse many-track data, 4k to 30k
windows) and every seed, trains DeepSEA and DanQ `small` at their default settings through
`seq2chrom train`'s own function (`run_training`) and prints, per shape and model, how many runs
learned (validation AUROC above LEARNED on every track: all tracks are motif-driven), how many
collapsed (the trainer's collapse stop), and the median of the lowest per-track AUROC.

Each shape trains for BENCH_PRESETS_EPOCHS (default 6) epochs, or more where its training set is
small: enough epochs to present WINDOWS_SEEN training windows (both strands count once), as a
user's run of up to 30 epochs would on such data.

BENCH_PRESETS_SEEDS (default 5), BENCH_PRESETS_EPOCHS, BENCH_PRESETS_SHAPES
(comma-separated indices into SHAPES, default all), BENCH_PRESETS_MODELS (default
deepsea,danq) and BENCH_PRESETS_TRAIN (JSON train settings over the defaults, to compare
candidates) narrow or change the run. About 1 minute per run on a 2-core CPU.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from tests.bench.shapes import SHAPES, Shape, write_shape

LEARNED = 0.8
WINDOWS_SEEN = 50_000


def shape_epochs(shape: Shape, minimum: int) -> int:
    """Epochs for `shape`: at least `minimum`, and enough to present WINDOWS_SEEN windows."""
    return max(minimum, math.ceil(WINDOWS_SEEN / shape.n_train))


def train_once(shape: Shape, model: str, seed: int, folder: Path, epochs: int, extra: dict):
    """Train `model` small on `shape` from `seed`: ("learned" | "collapsed" | "weak", the
    lowest per-track validation AUROC (NaN when collapsed), epochs run, seconds)."""
    from seq2chrom.errors import TrainingError
    from seq2chrom.training.session import TrainRequest, run_training

    data = folder / f"data-{shape.name}-{seed}".replace(" ", "_")
    if not (data / "valid.h5").exists():
        write_shape(shape, data, seed)
    out = folder / f"{model}-{shape.name}-{seed}".replace(" ", "_")
    settings = {"epochs": epochs, "patience": epochs, **extra}
    started = time.perf_counter()
    request = TrainRequest(
        model, data / "train.h5", data / "valid.h5", out, seed, {"preset": "small"}, settings
    )
    try:
        run_training(request)
    except TrainingError as error:
        if "collapsed" not in str(error):
            raise
        return "collapsed", float("nan"), epochs, time.perf_counter() - started
    seconds = time.perf_counter() - started
    lowest = lowest_track_auroc(out, data / "valid.h5")
    history = (out / "history.tsv").read_text().splitlines()
    return ("learned" if lowest > LEARNED else "weak"), lowest, len(history) - 1, seconds


def lowest_track_auroc(model_dir: Path, valid: Path) -> float:
    """The lowest per-track AUROC of the trained model in `model_dir` on `valid`."""
    from seq2chrom.evaluate.metrics import auroc
    from seq2chrom.modelfile.loading import load_model
    from seq2chrom.splitfile import open_split

    with open_split(valid) as split:
        x, y = split.x[:], split.y[:]
    model = load_model(model_dir / "model.keras")
    return float(np.nanmin(auroc(y, model.predict(x.astype("float32"), verbose=0))))


def main() -> None:
    import logging

    logging.getLogger("seq2chrom").setLevel(logging.WARNING)
    seeds = range(1, int(os.environ.get("BENCH_PRESETS_SEEDS", "5")) + 1)
    epochs = int(os.environ.get("BENCH_PRESETS_EPOCHS", "6"))
    chosen = os.environ.get("BENCH_PRESETS_SHAPES")
    shapes = [SHAPES[int(i)] for i in chosen.split(",")] if chosen else list(SHAPES)
    models = os.environ.get("BENCH_PRESETS_MODELS", "deepsea,danq").split(",")
    extra = json.loads(os.environ.get("BENCH_PRESETS_TRAIN", "{}"))
    settings = extra or "default"
    print(
        f"small presets, at least {epochs} epochs, seeds {list(seeds)}, train settings {settings}"
    )
    print("shape\tepochs\tmodel\tlearned\tcollapsed\tweak\tmedian lowest AUROC\tmedian s/run")
    with tempfile.TemporaryDirectory() as tmp:
        for shape in shapes:
            for model in models:
                outcomes = defaultdict(int)
                lowest, seconds = [], []
                for seed in seeds:
                    outcome, value, _, took = train_once(
                        shape, model, seed, Path(tmp), shape_epochs(shape, epochs), extra
                    )
                    outcomes[outcome] += 1
                    lowest.append(value)
                    seconds.append(took)
                    print(f"  {shape.name} {model} seed {seed}: {outcome} {value:.3f}", flush=True)
                finite = [v for v in lowest if np.isfinite(v)]
                median = f"{statistics.median(finite):.3f}" if finite else "-"
                print(
                    f"{shape.name}\t{shape_epochs(shape, epochs)}\t{model}"
                    f"\t{outcomes['learned']}/{len(seeds)}"
                    f"\t{outcomes['collapsed']}\t{outcomes['weak']}\t{median}"
                    f"\t{statistics.median(seconds):.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
