"""Fine-tuning: start a model from a trained one and widen its output layer to new tracks.

`start_from` loads a trained model folder into a new model and returns the record that
identifies the start. `transfer_weights` copies every layer of the trained (init) model into
the new one except the output layer, whose columns are copied by track name: tracks the init
model had keep their weights, new tracks keep the new model's fresh initialisation.
`set_frozen` freezes the first convolution (the motif scanners, which the motif step reads) for
the first epochs, so the new output columns settle before the motifs move.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from seq2chrom.errors import InputError
from seq2chrom.modelfile import (
    CONFIG_NAME,
    MODEL_NAME,
    model_file,
    read_model_config,
    require_model_tracks,
)
from seq2chrom.modelfile.loading import load_model

log = logging.getLogger(__name__)

OUTPUT_LAYER = "output"
FROZEN_LAYERS = ("conv1",)


@dataclass(frozen=True)
class Transfer:
    """What `transfer_weights` did: layers copied whole, and the output columns by track."""

    layers: list[str]
    copied: list[str]  # tracks whose output weights come from the init model
    new: list[str]  # tracks initialised fresh
    dropped: list[str]  # init-model tracks not in the new track list


def transfer_weights(
    model: keras.Model,
    init_model: keras.Model,
    tracks: Sequence[str],
    init_tracks: Sequence[str],
    output_layer: str = OUTPUT_LAYER,
) -> Transfer:
    """Copy ``init_model``'s weights into ``model``, widening the output layer by track name.

    Parameters
    ----------
    model
        The new, built model; its output layer has one unit per entry of ``tracks``.
    init_model
        The trained model to start from; one output unit per entry of ``init_tracks``.
    tracks, init_tracks
        Track names of the two output layers, in column order, each without repeats.
    output_layer
        Name of the output ``Dense`` layer in both models: kernel (H, T) and bias (T,).

    Every other layer with weights must exist in both models under the same name with the same
    weight shapes (same architecture, preset, size overrides and window); otherwise ValueError
    names the first layer that differs and nothing is changed. Output kernel columns and biases
    of tracks in both lists are copied (vectorised over tracks); the rest keep their values.
    """
    tracks, init_tracks = list(tracks), list(init_tracks)
    for name, names, net in (("tracks", tracks, model), ("init tracks", init_tracks, init_model)):
        if len(set(names)) != len(names):
            raise ValueError(f"{name} repeat names")
        units = _layer(net, output_layer).units
        if units != len(names):
            raise ValueError(f"{len(names)} {name} for {units} outputs of {net.name}")
    layers = [layer for layer in model.layers if layer.weights]
    init_layers = {layer.name: layer for layer in init_model.layers if layer.weights}
    unmatched = sorted(set(init_layers) - {layer.name for layer in layers})
    if unmatched:
        raise ValueError(f"layers {unmatched} of the init model are not in the new model")
    copies: list[tuple[keras.layers.Layer, list[np.ndarray]]] = []
    for layer in layers:
        if layer.name not in init_layers:
            raise ValueError(f"layer {layer.name!r} is not in the init model")
        new = [np.asarray(w) for w in layer.get_weights()]
        old = [np.asarray(w) for w in init_layers[layer.name].get_weights()]
        new_shapes, old_shapes = [w.shape for w in new], [w.shape for w in old]
        if layer.name == output_layer:
            new_shapes = [s[:-1] for s in new_shapes]  # the track axis may differ
            old_shapes = [s[:-1] for s in old_shapes]
        if new_shapes != old_shapes:
            raise ValueError(
                f"layer {layer.name!r} has weight shapes {[w.shape for w in new]}, the init "
                f"model's {[w.shape for w in old]}"
            )
        copies.append((layer, old if layer.name != output_layer else new))
    position = {track: j for j, track in enumerate(init_tracks)}
    copied = [t for t in tracks if t in position]
    target = np.array([j for j, t in enumerate(tracks) if t in position], dtype=np.int64)
    source = np.array([position[t] for t in copied], dtype=np.int64)
    init_output = [np.asarray(w) for w in _layer(init_model, output_layer).get_weights()]
    for layer, weights in copies:
        if layer.name == output_layer:
            for mine, theirs in zip(weights, init_output, strict=True):
                mine[..., target] = theirs[..., source]
        layer.set_weights(weights)
    return Transfer(
        layers=[layer.name for layer in layers if layer.name != output_layer],
        copied=copied,
        new=[t for t in tracks if t not in position],
        dropped=[t for t in init_tracks if t not in set(tracks)],
    )


def start_from(model: keras.Model, folder: str | Path, tracks: Sequence[str]) -> dict:
    """Copy the trained model in `folder` (model.keras, config.yaml) into `model`.

    `tracks` are the new model's output tracks, in column order. Returns what identifies the
    start (folder, model, preset, the file's SHA-256: the checkpoint fingerprint includes it, so
    a checkpoint of a run from another start is never resumed) and which tracks were copied or
    are new. Raises InputError naming the folder when it holds no usable model.
    """
    folder = Path(folder)
    path = model_file(folder)
    fix = f"set train.init_from to the folder of a trained model ({MODEL_NAME} and {CONFIG_NAME})"
    if not path.is_file():
        raise InputError(folder, f"no {MODEL_NAME} to fine-tune from", fix=fix)
    init_tracks = require_model_tracks(path, fix)
    record = read_model_config(path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    init_model = load_model(path)
    try:
        transfer = transfer_weights(model, init_model, tracks, init_tracks)
    except ValueError as error:
        raise InputError(
            path,
            f"cannot fine-tune {model.name} from it ({record.get('model')}, preset "
            f"{record.get('preset')}): {error}",
            fix="fine-tune from a model of the same architecture, preset, sizes and window",
        ) from None
    del init_model
    log.info(
        "fine-tuning from %s: %d layers copied; output weights of %d tracks copied, %d new "
        "(%s), %d dropped",
        folder,
        len(transfer.layers),
        len(transfer.copied),
        len(transfer.new),
        ", ".join(transfer.new) or "none",
        len(transfer.dropped),
    )
    return {
        "path": str(folder),
        "model": record.get("model"),
        "preset": record.get("preset"),
        "sha256": digest.hexdigest(),
        "tracks_copied": len(transfer.copied),
        "tracks_new": transfer.new,
        "tracks_dropped": transfer.dropped,
    }


def set_frozen(model: keras.Model, frozen: bool, layers: Sequence[str] = FROZEN_LAYERS) -> bool:
    """Freeze (``frozen``) or unfreeze ``layers``; recompile when that changed anything.

    The model keeps its optimizer object (and so its state) across the change: build the
    optimizer over all variables while everything is trainable (`build_optimizer_for`) and a
    frozen phase simply leaves the frozen layers' slots untouched, so checkpoints hold the same
    optimizer variables in both phases. Returns True when the trainable state changed.
    """
    changed = False
    for name in layers:
        layer = _layer(model, name)
        if layer.trainable == frozen:
            layer.trainable = not frozen
            changed = True
    if changed and model.compiled:
        model.compile(
            optimizer=model.optimizer,
            loss=model.loss,
            run_eagerly=model.run_eagerly,
            jit_compile=model.jit_compile,
            steps_per_execution=model.steps_per_execution,
        )
    return changed


def build_optimizer_for(model: keras.Model) -> None:
    """Build the compiled model's optimizer over every variable trainable when unfrozen.

    Raises ValueError when a layer is frozen at this point (the optimizer would then never hold
    slots for it) or the optimizer was already built over fewer variables.
    """
    frozen = [layer.name for layer in model.layers if layer.weights and not layer.trainable]
    if frozen:
        raise ValueError(f"layers {frozen} are frozen; build the optimizer before freezing")
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _layer(model: keras.Model, name: str) -> keras.layers.Layer:
    try:
        return model.get_layer(name)
    except ValueError:
        raise ValueError(f"model {model.name!r} has no layer named {name!r}") from None
