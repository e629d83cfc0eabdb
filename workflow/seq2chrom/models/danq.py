"""DanQ (Quang & Xie 2016): convolution + BLSTM; DanQ-JASPAR with motif-initialised kernels."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers

from seq2chrom.models.custom import GateOrthogonal

# The small presets keep Keras 3's initialisers (keras02_init False): their learning rate was
# chosen with them (README, "Presets").
PRESETS: dict[str, dict] = {
    "full": {},
    "small": {"conv_filters": 48, "lstm_units": 32, "hidden_units": 64, "keras02_init": False},
}
JASPAR_PRESETS: dict[str, dict] = {
    "full": {},
    # 128 filters: the training command initialises only the first 128 of the 525 published
    # motifs (those of the 519 sorted by JASPAR matrix ID, MA0002.2 RUNX1 to MA0461.2 Atoh1;
    # none of the six reverse complements, which come last), and logs so.
    "small": {
        "conv_filters": 128,
        "lstm_units": 32,
        "hidden_units": 64,
        "keras02_init": False,
    },
}
# Keras 0.2's defaults in DanQ_train.py: Convolution1D init 'uniform' (+-0.05); LSTM gates
# each with their own Glorot input kernel and orthogonal recurrent kernel (scale 1.1).
KERAS02_CONV_LIMIT = 0.05
KERAS02_ORTHOGONAL_GAIN = 1.1


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
    keras02_init: bool = True,
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
    keras02_init
        Initialise as DanQ's Keras 0.2 did: ``conv1`` kernels U(-0.05, 0.05); each LSTM gate's
        input kernel Glorot-uniform over its own ``(conv_filters, lstm_units)`` and recurrent
        kernel orthogonal times 1.1 on its own ``(lstm_units, lstm_units)`` (`GateOrthogonal`).
        False: Keras 3's defaults (Glorot ``conv1``; Glorot and one orthogonal matrix, gain 1,
        over each LSTM kernel as a whole). Dense layers, biases and the forget-gate bias of 1
        are the same in both. The gates stay ``sigmoid`` (Keras 0.2: ``hard_sigmoid``) so that
        the LSTM can run as cuDNN's fused kernel.
    """
    conv_init, lstm_init = "glorot_uniform", {}
    if keras02_init:
        conv_init = keras.initializers.RandomUniform(-KERAS02_CONV_LIMIT, KERAS02_CONV_LIMIT)
        limit = float(np.sqrt(6.0 / (conv_filters + lstm_units)))  # per gate, as Keras 0.2
        lstm_init = {
            "kernel_initializer": keras.initializers.RandomUniform(-limit, limit),
            "recurrent_initializer": GateOrthogonal(KERAS02_ORTHOGONAL_GAIN),
        }
    inputs = keras.Input((seq_len, 4), name="sequence")
    x = layers.Conv1D(
        conv_filters, conv_width, activation="relu", kernel_initializer=conv_init, name="conv1"
    )(inputs)
    x = layers.MaxPooling1D(pool_size, strides=pool_size, name="pool1")(x)
    x = layers.Dropout(dropout[0], name="dropout1")(x)
    x = layers.Bidirectional(
        layers.LSTM(lstm_units, return_sequences=True, **lstm_init),
        merge_mode="concat",
        name="blstm",
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
    keras02_init: bool = True,
) -> keras.Model:
    """Build DanQ-JASPAR: DanQ with 1024 x 30 kernels, pool 15, BLSTM 512 (67,892,175 at 919).

    Every kernel starts random; `init_conv_from_pwms` then writes motifs into ``conv1`` (the
    training command writes the 525 of `published_jaspar_pwms`; with fewer filters, as the
    ``small`` preset's 128, only the first ones in that order). Other arguments as `danq`.
    """
    return danq(
        seq_len,
        n_tracks,
        conv_filters=conv_filters,
        conv_width=conv_width,
        pool_size=pool_size,
        lstm_units=lstm_units,
        dropout=dropout,
        hidden_units=hidden_units,
        keras02_init=keras02_init,
        name="danq_jaspar",
    )


# DanQ-JASPAR_train.py adds reverse complements of these motifs only (0-based indices into
# the 519 JASPAR CORE 2016 vertebrate motifs sorted by matrix ID: MA0035.3 Gata1, MA0138.2
# REST, MA0139.1 CTCF, MA0140.2 GATA1::TAL1, MA0141.3 ESRRB, MA0142.1 Pou5f1::Sox2).
JASPAR_REVERSED = (19, 97, 98, 99, 100, 101)
JASPAR_MARGIN = 3


def published_jaspar_pwms(pwms: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The 525 motifs DanQ-JASPAR writes into its kernels, in the published order.

    pwms: the 519 motifs of `seq2chrom.motifs.jaspar.danq_jaspar_pwms`, (w, 4) A,C,G,T.
    Returns them followed by the reverse complements of motifs 19 and 97-101
    (`JASPAR_REVERSED`): 525 (w, 4) arrays.
    """
    pwms = [np.asarray(pwm, dtype=np.float64) for pwm in pwms]
    if len(pwms) <= max(JASPAR_REVERSED):
        raise ValueError(f"pwms: expected the 519 JASPAR 2016 motifs, got {len(pwms)}")
    return pwms + [pwms[i][::-1, ::-1] for i in JASPAR_REVERSED]


def init_conv_from_pwms(
    layer: keras.layers.Layer,
    pwms: Sequence[np.ndarray],
    rng: np.random.Generator,
    margin: int = JASPAR_MARGIN,
) -> int:
    """Write motifs into the first kernels of a built ``Conv1D`` layer, as DanQ-JASPAR did.

    Kernel i (i < min(filters, len(pwms))) gets ``pwms[i] - 0.25`` at an offset drawn
    uniformly from ``[margin, width - w - margin]`` and a bias drawn from U(-1, 0) (offset,
    then bias, motif by motif). Positions outside the motif and the other kernels keep their
    values, as in DanQ-JASPAR_train.py (whose line zeroing them is commented out). pwms are
    (w, 4) A,C,G,T probabilities. With fewer filters than motifs only the first ones are used.
    Returns the number of kernels written. Raises ValueError when a motif does not fit.
    """
    kernel, bias = (np.array(w) for w in layer.get_weights())  # (width, 4, filters), (filters,)
    width, n = kernel.shape[0], min(kernel.shape[2], len(pwms))
    longest = max((len(pwm) for pwm in pwms[:n]), default=0)
    if longest > width - 2 * margin:
        raise ValueError(
            f"conv_width: {width} cannot hold a {longest} bp motif with {margin} bp margins; "
            f"use at least {longest + 2 * margin}"
        )
    for i, pwm in enumerate(pwms[:n]):
        start = rng.integers(margin, width - len(pwm) - margin, endpoint=True)
        kernel[start : start + len(pwm), :, i] = np.asarray(pwm) - 0.25
        bias[i] = rng.uniform(-1.0, 0.0)
    layer.set_weights([kernel, bias])
    return n
