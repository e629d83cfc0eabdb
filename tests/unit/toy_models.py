"""Keras models whose predictions can be worked out by hand (standard layers, so they save)."""

from __future__ import annotations

import keras
import numpy as np


def composition_model(window: int) -> keras.Model:
    """Two tracks: the A+T fraction and the G+C fraction of the window (strand-symmetric).

    A substitution C->A changes them by exactly +1/window and -1/window.
    """
    inputs = keras.Input((window, 4))
    count = keras.layers.Conv1D(2, 1, use_bias=False, name="conv1")(inputs)
    outputs = keras.layers.GlobalAveragePooling1D()(count)
    model = keras.Model(inputs, outputs)
    # rows A, C, G, T -> columns AT, GC
    model.get_layer("conv1").set_weights([np.array([[[1, 0], [0, 1], [0, 1], [1, 0]]], "float32")])
    return model


def motif_model(window: int, motif: str = "GATA") -> keras.Model:
    """One track: 1 when the window's forward strand holds `motif` exactly, else 0.

    Strand-averaged, a window with one copy of the motif (and no copy of its reverse
    complement) predicts 0.5; destroying the copy drops it to 0.
    """
    width = len(motif)
    kernel = np.zeros((width, 4, 1), "float32")
    for i, base in enumerate(motif):
        kernel[i, "ACGT".index(base), 0] = 1
    inputs = keras.Input((window, 4))
    score = keras.layers.Conv1D(1, width, activation="relu", name="conv1")(inputs)
    outputs = keras.layers.GlobalMaxPooling1D()(score)
    model = keras.Model(inputs, outputs)
    model.get_layer("conv1").set_weights([kernel, np.array([1.0 - width], "float32")])
    return model


def linear_model(kernel: np.ndarray, window: int, bias: float = 0.0) -> keras.Model:
    """One track, linear in the window: the mean over positions of the (w, 4) `kernel`'s scan,
    plus `bias` (no activation), so every gradient and mutation effect is known exactly."""
    kernel = np.asarray(kernel, "float32")
    inputs = keras.Input((window, 4))
    scan = keras.layers.Conv1D(1, len(kernel), name="conv1")(inputs)
    outputs = keras.layers.GlobalAveragePooling1D()(scan)
    model = keras.Model(inputs, outputs)
    model.get_layer("conv1").set_weights([kernel[:, :, None], np.array([bias], "float32")])
    return model


def random_model(window: int, n_tracks: int, seed: int = 0, filters: int = 16) -> keras.Model:
    """`n_tracks` sigmoid tracks of a fixed random 8-wide convolution, max-pooled: unlike
    `composition_model`, single-base changes move tracks by different, varied amounts."""
    rng = np.random.default_rng(seed)
    inputs = keras.Input((window, 4))
    scan = keras.layers.Conv1D(filters, 8, activation="relu", name="conv1")(inputs)
    pooled = keras.layers.GlobalMaxPooling1D()(scan)
    outputs = keras.layers.Dense(n_tracks, activation="sigmoid", name="tracks")(pooled)
    model = keras.Model(inputs, outputs)
    model.get_layer("conv1").set_weights(
        [rng.normal(0, 1, (8, 4, filters)).astype("float32"), np.full(filters, -2.0, "float32")]
    )
    model.get_layer("tracks").set_weights(
        [rng.normal(0, 1, (filters, n_tracks)).astype("float32"), np.zeros(n_tracks, "float32")]
    )
    return model


def detector_model(window: int, motifs: list[str], weights, bias=0.0) -> keras.Model:
    """Tracks ``sigmoid(bias + sum_j weights[j] * d_j)``, d_j 1 when the window's forward strand
    holds ``motifs[j]`` exactly (all motifs the same width), else 0.

    conv1 filter j scores each base of motif j 1 with bias 1 - width: its ReLU output is 1 at
    an exact match and 0 everywhere else. weights: (n_motifs, n_tracks); bias: (n_tracks,).
    """
    width = len(motifs[0])
    kernel = np.zeros((width, 4, len(motifs)), "float32")
    for j, motif in enumerate(motifs):
        for i, base in enumerate(motif):
            kernel[i, "ACGT".index(base), j] = 1
    weights = np.asarray(weights, "float32")
    inputs = keras.Input((window, 4))
    x = keras.layers.Conv1D(len(motifs), width, activation="relu", name="conv1")(inputs)
    x = keras.layers.GlobalMaxPooling1D()(x)
    outputs = keras.layers.Dense(weights.shape[1], activation="sigmoid", name="output")(x)
    model = keras.Model(inputs, outputs)
    model.get_layer("conv1").set_weights([kernel, np.full(len(motifs), 1.0 - width, "float32")])
    bias = np.broadcast_to(np.asarray(bias, "float32"), (weights.shape[1],))
    model.get_layer("output").set_weights([weights, bias])
    return model
