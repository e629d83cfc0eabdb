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
