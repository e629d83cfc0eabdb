"""DanQ (Quang & Xie 2016): convolution + BLSTM; DanQ-JASPAR with motif-initialised kernels."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers

PRESETS: dict[str, dict] = {
    "full": {},
    "small": {"conv_filters": 64, "lstm_units": 32, "hidden_units": 64},
}
JASPAR_PRESETS: dict[str, dict] = {
    "full": {},
    "small": {"conv_filters": 128, "lstm_units": 32, "hidden_units": 64},
}


def danq(
    seq_len: int = 1000,
    n_tracks: int = 919,
    *,
    conv_filters: int = 320,
    conv_width: int = 26,
    pool_size: int = 13,
    lstm_units: int = 320,
    dropout: Sequence[float] = (0.2, 0.5),
    hidden_units: int = 925,
    name: str = "danq",
) -> keras.Model:
    """Build DanQ; defaults are the published architecture (46,926,479 parameters at 919).

    Input ``(batch, seq_len, 4)`` float one-hot in A,C,G,T order; output ``(batch, n_tracks)``
    sigmoid probabilities.

    Parameters
    ----------
    seq_len, n_tracks
        Window length in bp and number of output tracks.
    conv_filters, conv_width
        The motif-scanning convolution ``conv1`` (320 filters of width 26, valid, ReLU).
    pool_size
        Max-pooling size and stride (13).
    lstm_units
        Units per direction of the bidirectional LSTM returning sequences (320).
    dropout
        Dropout after pooling and after the LSTM (0.2, 0.5).
    hidden_units
        Width of the ReLU hidden layer (925).
    """
    inputs = keras.Input((seq_len, 4), name="sequence")
    x = layers.Conv1D(conv_filters, conv_width, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling1D(pool_size, strides=pool_size, name="pool1")(x)
    x = layers.Dropout(dropout[0], name="dropout1")(x)
    x = layers.Bidirectional(
        layers.LSTM(lstm_units, return_sequences=True), merge_mode="concat", name="blstm"
    )(x)
    x = layers.Dropout(dropout[1], name="dropout2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(hidden_units, activation="relu", name="hidden")(x)
    outputs = layers.Dense(n_tracks, activation="sigmoid", dtype="float32", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def danq_jaspar(
    seq_len: int = 1000,
    n_tracks: int = 919,
    *,
    conv_filters: int = 1024,
    conv_width: int = 30,
    pool_size: int = 15,
    lstm_units: int = 512,
    dropout: Sequence[float] = (0.2, 0.5),
    hidden_units: int = 925,
    jaspar_release: str = "JASPAR2016",
    jaspar_fraction: float = 0.5,
    seed: int = 1,
) -> keras.Model:
    """Build DanQ-JASPAR: DanQ with 1024 x 30 kernels, pool 15, BLSTM 512 (67,892,175 at 919).

    Up to ``jaspar_fraction`` of the ``conv1`` kernels are initialised from JASPAR CORE
    vertebrate motifs (pyjaspar, ``jaspar_release``), forward and reverse complement, as
    probabilities minus 0.25 placed at a random offset at least 3 bp from either edge, with
    biases uniform in [-1, 0], as in the original DanQ-JASPAR script. Other arguments as `danq`.
    """
    model = danq(
        seq_len,
        n_tracks,
        conv_filters=conv_filters,
        conv_width=conv_width,
        pool_size=pool_size,
        lstm_units=lstm_units,
        dropout=dropout,
        hidden_units=hidden_units,
        name="danq_jaspar",
    )
    conv = model.get_layer("conv1")
    kernel, bias = (np.array(w) for w in conv.get_weights())
    motifs = jaspar_kernels(
        conv_width, int(conv_filters * jaspar_fraction), jaspar_release, seed=seed
    )
    kernel[:, :, : len(motifs)] = motifs.transpose(1, 2, 0)
    rng = np.random.default_rng(seed)
    bias[: len(motifs)] = rng.uniform(-1.0, 0.0, len(motifs))
    conv.set_weights([kernel, bias])
    return model


def jaspar_kernels(
    width: int, n_max: int, release: str = "JASPAR2016", *, seed: int = 1
) -> np.ndarray:
    """Motif kernels from JASPAR CORE vertebrates, forward and reverse complement.

    Returns ``(n, width, 4)`` float32 (A,C,G,T), ``n <= n_max``: each motif's position
    probability matrix minus 0.25 at a random offset in ``[3, width - length - 3]``, zero
    elsewhere. Motifs longer than ``width - 6`` are skipped; when there are more than
    ``n_max`` kernels a seeded random subset is kept (pairs of strands stay together).
    """
    from pyjaspar import jaspardb

    found = jaspardb(release=release).fetch_motifs(collection="CORE", tax_group=["vertebrates"])
    rng = np.random.default_rng(seed)
    probabilities = []
    for motif in found:
        counts = np.array([motif.counts[base] for base in "ACGT"], dtype=np.float64).T
        if len(counts) <= width - 6:
            probabilities.append(counts / counts.sum(axis=1, keepdims=True))
    order = rng.permutation(len(probabilities))[: max(n_max // 2, 0)]
    kernels = np.zeros((2 * len(order), width, 4), dtype=np.float32)
    for k, index in enumerate(order):
        forward = probabilities[index]
        for strand, matrix in enumerate((forward, forward[::-1, ::-1])):
            start = rng.integers(3, width - len(matrix) - 3, endpoint=True)
            kernels[2 * k + strand, start : start + len(matrix)] = matrix - 0.25
    return kernels


def optimizer(learning_rate: float | None = None) -> keras.optimizers.Optimizer:
    """Published optimiser: RMSprop (Keras defaults, lr 0.001, rho 0.9)."""
    return keras.optimizers.RMSprop(learning_rate=1e-3 if learning_rate is None else learning_rate)
