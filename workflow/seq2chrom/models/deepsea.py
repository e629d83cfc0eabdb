"""DeepSEA (Zhou & Troyanskaya 2015): three convolutions, one hidden layer, sigmoid outputs."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from seq2chrom.models.custom import ActivityL1

# The L2 penalty that equals Torch SGD's weightDecay 1e-6 on kernels: 5e-7 * sum(w**2).
TORCH_DECAY_L2 = 5e-7
PRESETS: dict[str, dict] = {
    # DeepSEA's weight decay (1e-6, every parameter) is its optimiser's: the `full` preset
    # trains with training.optimizers' torch_sgd, so the model adds no L2 of its own.
    "full": {},
    # No max-norm for `small`: with Adam (see training.optimizers) the 0.9 cap slows the
    # small model so much that on the demo GATA1 and MAFK stay near AUROC 0.83 after 30 epochs;
    # uncapped it reaches 0.98 on every motif-driven TF track in the same epochs. Adam has no
    # Torch weight decay, so the small model keeps the equivalent L2 on its kernels.
    "small": {
        "conv_filters": (64, 64, 128),
        "hidden_units": 64,
        "max_norm": None,
        "l2": TORCH_DECAY_L2,
    },
}


def deepsea(
    seq_len: int = 1000,
    n_tracks: int = 919,
    *,
    conv_filters: Sequence[int] = (320, 480, 960),
    conv_width: int = 8,
    pool_size: int = 4,
    dropout: Sequence[float] = (0.2, 0.2, 0.5),
    hidden_units: int = 925,
    max_norm: float | None = 0.9,
    l2: float = 0.0,
    l1_activity: float = 1e-8,
) -> keras.Model:
    """Build DeepSEA; defaults are the published architecture (52,843,119 parameters at 919).

    Takes ``(batch, seq_len, 4)`` float one-hot windows (A,C,G,T) and returns
    ``(batch, n_tracks)`` sigmoid probabilities.

    Parameters
    ----------
    seq_len
        Window length in bp (1000).
    n_tracks
        Output tracks (919).
    conv_filters
        Filters of the three convolutions (published 320, 480, 960), all ``conv_width`` wide
        (8), valid padding, ReLU; max-pooling ``pool_size`` (4) after the first two.
    dropout
        Dropout after each convolution block (0.2, 0.2, 0.5).
    hidden_units
        Width of the ReLU hidden layer (925 in the paper and the released weights).
    max_norm
        Max L2 norm of every filter's / unit's incoming weights (0.9), as Torch ``renorm``;
        None for no constraint.
    l2
        L2 penalty ``l2 * sum(w**2)`` on kernels (not biases), added to each batch's loss; 0
        by default because DeepSEA's weight decay belongs to its optimiser (``torch_sgd``,
        1e-6 on every parameter). ``TORCH_DECAY_L2`` (5e-7) gives kernels the same gradient
        under another optimiser.
    l1_activity
        L1 penalty on the hidden layer's output (1e-8), summed over the batch's samples and
        units as DeepSEA's Torch ``nn.L1Penalty(1e-8, false)`` (`custom.ActivityL1`); 0 for
        none.

    The convolutions and the hidden layer use ReLU where DeepSEA's Torch model has
    ``nn.Threshold(0, 1e-6)``: the same gradient, but 1e-6 instead of 0 for inputs <= 0.
    """
    if len(conv_filters) != len(dropout):
        raise ValueError("conv_filters and dropout must have the same length")
    conv_norm = keras.constraints.MaxNorm(max_norm, axis=[0, 1]) if max_norm else None
    dense_norm = keras.constraints.MaxNorm(max_norm, axis=0) if max_norm else None
    regulariser = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input((seq_len, 4), name="sequence")
    x = inputs
    for i, (filters, rate) in enumerate(zip(conv_filters, dropout, strict=True), start=1):
        x = layers.Conv1D(
            filters,
            conv_width,
            activation="relu",
            kernel_constraint=conv_norm,
            kernel_regularizer=regulariser,
            name=f"conv{i}",
        )(x)
        if i < len(conv_filters):
            x = layers.MaxPooling1D(pool_size, strides=pool_size, name=f"pool{i}")(x)
        x = layers.Dropout(rate, name=f"dropout{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(
        hidden_units,
        activation="relu",
        kernel_constraint=dense_norm,
        kernel_regularizer=regulariser,
        name="hidden",
    )(x)
    if l1_activity:
        x = ActivityL1(l1_activity, name="hidden_l1")(x)
    outputs = layers.Dense(
        n_tracks,
        activation="sigmoid",
        kernel_constraint=dense_norm,
        kernel_regularizer=regulariser,
        dtype="float32",
        name="output",
    )(x)
    return keras.Model(inputs, outputs, name="deepsea")
