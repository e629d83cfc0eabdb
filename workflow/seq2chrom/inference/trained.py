"""A trained model with its track names, loaded for the subcommands that use one
(`score-variants`, `predict-region`, `mutagenesis`)."""

from __future__ import annotations

from pathlib import Path

from seq2chrom.errors import InputError


def load_trained(path: Path, device: str = "auto"):
    """(model, track names, device kind) of ``model.keras`` at `path`.

    The device (auto, gpu or cpu) is chosen before Keras starts; the track names come from the
    ``config.yaml`` beside the model (``track_<j>`` without one).
    """
    from seq2chrom.training.devices import select_devices

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "model not found", fix="train it: snakemake results/models/...")
    selection = select_devices(device)

    from seq2chrom.models import loading
    from seq2chrom.training.model_tracks import model_tracks

    model = loading.load_model(path)
    n_outputs = int(model.output_shape[-1])
    tracks = model_tracks(path) or [f"track_{j}" for j in range(n_outputs)]
    if len(tracks) != n_outputs:
        raise InputError(
            path, f"{n_outputs} outputs but config.yaml lists {len(tracks)} tracks",
            fix="keep each model.keras with the config.yaml written with it",
        )  # fmt: skip
    return model, tracks, selection.kind
