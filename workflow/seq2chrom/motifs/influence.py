"""Filter influence as Basset measured it (`basset_motifs_infl.lua`, read by its `.py`).

The sequences are taken in groups (Basset's batches, ``-batch_size`` 1000). In each group, each
filter of the first convolution in turn has its output replaced, at every position of every
sequence, by its mean over the group's sequences and positions, and the rest of the model is
run again (dropout off). Two influences are recorded:

- **loss**: the increase of the binary cross-entropy (from the logits), summed over the
  group's sequences and tracks (Basset's ``BCECriterion`` with ``sizeAverage = false``), added
  over the groups and divided by the number of sequences: the mean increase of a sequence's
  loss summed over its tracks. Positive when the model needs the filter.
- **tracks**: for each track, (mean logit - mean logit with the filter held) / the variance of
  the logits over the group's sequences (unbiased, as Torch's ``std``), averaged over the
  groups. Positive when the filter raises the track; NaN where a group's logits of the track
  do not vary (Basset's 0 / 0).

A filter whose mean output over a group is 0 (it never fires there) is not run: its changes
are 0 for that group, as in Basset.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

GROUP_SIZE = 1000  # sequences per group: Basset's -batch_size default


class FilterInfluence(NamedTuple):
    """Basset's two influences of the F filters of a layer on T tracks."""

    loss: np.ndarray  # (F,) float64 mean increase of a sequence's loss (summed over tracks)
    tracks: np.ndarray  # (F, T) float64 standardised change of each track's mean logit


def logit_model(model):
    """A copy of `model` whose output layer returns its logits instead of sigmoid probabilities.

    Raises ValueError when the model has several outputs or its output layer is not a layer
    with a sigmoid ``activation`` (every seq2chrom model ends in ``Dense(..., "sigmoid")``).
    """
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    if len(clone.outputs) != 1:
        raise ValueError(f"model {model.name!r} has {len(clone.outputs)} outputs, expected 1")
    layer = clone.outputs[0]._keras_history.operation
    if getattr(layer, "activation", None) is not keras.activations.sigmoid:
        raise ValueError(
            f"output layer {layer.name!r} of model {model.name!r} has no sigmoid activation: "
            "the influence needs the logits"
        )
    layer.activation = keras.activations.linear  # before any call: predict traces it anew
    return clone


def mean_outputs(model, x: np.ndarray, *, layer: str = "conv1", batch_size: int = 128):
    """Mean output of each filter of `layer` over all sequences and positions: ``(F,)`` float64.

    x: ``(N, L, 4)`` float32 one-hot.
    """
    import keras

    conv = keras.Model(model.inputs, model.get_layer(layer).output)
    total, count = 0.0, 0
    for i in range(0, len(x), batch_size):
        out = np.asarray(conv.predict_on_batch(x[i : i + batch_size]), dtype=np.float64)
        total = total + out.sum(axis=(0, 1))
        count += out.shape[0] * out.shape[1]
    return np.asarray(total, dtype=np.float64) / max(count, 1)


def _bce_sum(logits: np.ndarray, y: np.ndarray) -> float:
    """Binary cross-entropy of sigmoid(logits) against y, summed: softplus(z) - y z."""
    return float((np.logaddexp(0.0, logits) - y * logits).sum())


def _predict(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """``(N, T)`` float64 outputs via `predict_on_batch` (one compiled function; `predict`
    rebuilds its data pipeline on every call, ~0.2 s each)."""
    return np.concatenate(
        [
            np.asarray(model.predict_on_batch(x[i : i + batch_size]), dtype=np.float64)
            for i in range(0, len(x), batch_size)
        ]
    )


def filter_influence(
    model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    layer: str = "conv1",
    group_size: int = GROUP_SIZE,
    batch_size: int = 128,
) -> FilterInfluence:
    """Basset's influence of each filter of `layer` (module docstring).

    Parameters
    ----------
    model
        A Keras model with one sigmoid output (`logit_model`); it is not modified.
    x, y
        ``(N, L, 4)`` float32 one-hot sequences and their ``(N, T)`` 0/1 labels.
    layer
        The convolution whose filters are held; its activation must leave a non-negative
        constant unchanged (ReLU or linear): a filter is held at m by a zero kernel and bias m.
    group_size
        At most this many sequences share a mean; the sequences are split into
        ``ceil(N / group_size)`` groups of nearly equal size (no group of one left over).
    batch_size
        Sequences per forward pass (memory only).

    Examples
    --------
    See tests/unit/test_influence.py for a model whose influences are worked out by hand.
    """
    import keras

    x, y = np.asarray(x), np.asarray(y, dtype=np.float64)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"x ({len(x)}) and y ({len(y)}): need the same number, at least 2")
    clone = logit_model(model)
    conv = clone.get_layer(layer)
    weights = [np.array(w) for w in conv.get_weights()]
    if len(weights) < 2:
        raise ValueError(f"layer {layer!r} has no bias: cannot hold a filter at its mean")
    n_filters = weights[0].shape[-1]
    n_groups = -(-len(x) // group_size)
    loss_sum = np.zeros(n_filters)
    track_sum = np.zeros((n_filters, y.shape[1]))
    for rows in np.array_split(np.arange(len(x)), n_groups):
        xg, yg = x[rows], y[rows]
        means = mean_outputs(clone, xg, layer=layer, batch_size=batch_size)
        held = np.asarray(keras.ops.convert_to_numpy(conv.activation(means)), np.float64)
        if not np.allclose(held, means, rtol=1e-5, atol=1e-7):
            raise ValueError(f"layer {layer!r}: its activation changes a constant output")
        logits = _predict(clone, xg, batch_size)
        loss = _bce_sum(logits, yg)
        mean_logit = logits.mean(axis=0)
        variance = logits.var(axis=0, ddof=1)
        for f in range(n_filters):
            changed_mean = mean_logit  # a filter that never fires in the group changes nothing
            if means[f] != 0:
                kernel, bias = weights[0].copy(), weights[1].copy()
                kernel[..., f] = 0
                bias[f] = means[f]
                conv.set_weights([kernel, bias, *weights[2:]])
                changed = _predict(clone, xg, batch_size)
                loss_sum[f] += _bce_sum(changed, yg) - loss
                changed_mean = changed.mean(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                change = (mean_logit - changed_mean) / variance
            track_sum[f] += np.where(variance > 0, change, np.nan)
        conv.set_weights(weights)
    return FilterInfluence(loss_sum / len(x), track_sum / n_groups)
