"""Per-base attributions of one track: ``(model, x (N, L, 4), track) -> hypothetical (N, L, 4)``.

Every method explains the track's *logit*, the input of the model's sigmoid output, where
DeepLIFT and DeepSHAP explain classifiers (the probability saturates at the confident windows
worth explaining), averaged over both strands as the one predictor averages them: the score of
``x`` is ``(z(x) + z(rc(x))) / 2``, so each method's scores are the forward strand's averaged
with the reverse complement's, mapped back.

Each method gives *hypothetical* scores, what each of the four bases would contribute at a
position (the input TF-MoDISco clusters); the contribution of the window's own bases is
``contrib = hypothetical x x`` (zero at N):

- ``gradient``: the gradient, centred over the four bases at each position (a one-hot input can
  only move within the simplex, so the part of the gradient common to the four bases is noise;
  Majdandzic et al. 2023). ``contrib`` is then gradient x input, centred.
- ``expected_gradients``: integrated gradients from each of `references` dinucleotide shuffles
  of the window (`steps` midpoint steps), averaged: a sampling approximation of DeepSHAP that
  also runs through DanQ's LSTM. The hypothetical score of base b is ``m[b] - m . r`` for the
  path-averaged gradient m and the reference base r (DeepLIFT's hypothetical contributions), so
  that ``contrib`` summed over the window is ``score(x) - mean(score(references))`` up to the
  step error.
- ``ism``: in-silico mutagenesis (`inference.mutagenesis`), each base's effect minus the mean
  effect at its position: exact, the reference the others are checked against; 3L model calls
  per window.

The gradients run under the Keras backend of the process: TensorFlow or JAX (Keras 3 has no
backend-agnostic gradient, so there is one small function per backend).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from seq2chrom.attribution.shuffle import shuffled_references
from seq2chrom.data.one_hot import reverse_complement
from seq2chrom.errors import InputError

if TYPE_CHECKING:
    import keras

METHODS = ("gradient", "expected_gradients", "ism")
OUTPUT_LAYER = "output"  # the sigmoid Dense of seq2chrom's models (models/deepsea.py, danq.py)
GradientFunction = Callable[[np.ndarray, int], np.ndarray]


class Settings(NamedTuple):
    """How attributions are computed: `method` (one of METHODS), `batch_size` (windows, or
    mutants for ism, per model call; each with its reverse complement), and for
    expected_gradients the number of `references` and integration `steps`."""

    method: str = "gradient"
    batch_size: int = 128
    references: int = 10
    steps: int = 20


def logit_model(model: keras.Model) -> keras.Model:
    """The model with its sigmoid output layer (named `OUTPUT_LAYER`) replaced by the same
    layer without the sigmoid: its outputs are the tracks' logits. A model without such a
    layer (the toy models of the tests) is returned as it is."""
    import keras

    try:
        layer = model.get_layer(OUTPUT_LAYER)
    except ValueError:
        return model
    config = layer.get_config()
    if not isinstance(layer, keras.layers.Dense) or config.get("activation") != "sigmoid":
        return model
    logits_layer = keras.layers.Dense.from_config(
        {**config, "activation": "linear", "name": f"{OUTPUT_LAYER}_logits"}
    )
    logits = logits_layer(layer.input)
    logits_layer.set_weights(layer.get_weights())
    return keras.Model(model.inputs, logits, name=f"{model.name}_logits")


def gradient_function(model: keras.Model) -> GradientFunction:
    """``grad(x, j)``: the gradient of output column j of `model` at each of the (B, L, 4)
    float32 inputs `x`, (B, L, 4) float32, under the process's Keras backend.

    Raises InputError for a backend other than TensorFlow or JAX.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tensorflow_gradient(model)
    if backend == "jax":
        return _jax_gradient(model)
    raise InputError(
        "KERAS_BACKEND",
        f"attributions need TensorFlow or JAX gradients; the backend is {backend}",
        fix="run the attributions step with KERAS_BACKEND=tensorflow or jax",
    )


def _tensorflow_gradient(model: keras.Model) -> GradientFunction:
    import tensorflow as tf

    window = int(model.input_shape[1])

    @tf.function(
        input_signature=(
            tf.TensorSpec((None, window, 4), tf.float32),
            tf.TensorSpec((), tf.int32),
        )
    )
    def gradient(x, j):
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(tf.cast(model(x, training=False)[:, j], tf.float32))
        return tape.gradient(total, x)

    return lambda x, j: gradient(tf.constant(x, tf.float32), tf.constant(j, tf.int32)).numpy()


def _jax_gradient(model: keras.Model) -> GradientFunction:
    import jax
    import jax.numpy as jnp

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    def total(x, j, trainable, non_trainable):
        y, _ = model.stateless_call(trainable, non_trainable, x, training=False)
        return jnp.sum(jnp.take(y, j, axis=1).astype(jnp.float32))

    gradient = jax.jit(jax.grad(total))  # the weights are arguments, not compiled constants
    return lambda x, j: np.asarray(
        gradient(jnp.asarray(x, jnp.float32), jnp.int32(j), trainable, non_trainable)
    )


def strand_gradients(
    gradient: GradientFunction, points: np.ndarray, j: int, batch_size: int
) -> np.ndarray:
    """The gradient of ``(z(p) + z(rc(p))) / 2`` at each point: (P, L, 4) float32.

    One call of `gradient` per `batch_size` points, each with its reverse complement (the last
    batch is padded to the same size, so that compiled functions are not traced again).
    """
    points = np.asarray(points, np.float32)
    out = np.empty(points.shape, np.float32)
    for first in range(0, len(points), batch_size):
        block = points[first : first + batch_size]
        n = len(block)
        if n < batch_size and len(points) > batch_size:
            block = np.concatenate([block, np.zeros((batch_size - n, *block.shape[1:]), "f4")])
        both = gradient(np.concatenate([block, reverse_complement(block)]), j)
        forward, reverse = both[: len(block)], both[len(block) :]
        out[first : first + n] = ((forward + reverse_complement(reverse)) / 2)[:n]
    return out


def centred(scores: np.ndarray) -> np.ndarray:
    """Scores minus their mean over the four bases at each position (last axis)."""
    return scores - scores.mean(axis=-1, keepdims=True)


def gradient_scores(gradient: GradientFunction, x: np.ndarray, j: int, batch_size: int):
    """`gradient` method: the strand-averaged gradient at `x`, centred. (N, L, 4) float32."""
    return centred(strand_gradients(gradient, x, j, batch_size))


def expected_gradient_scores(
    gradient: GradientFunction,
    x: np.ndarray,
    j: int,
    references: np.ndarray,
    *,
    steps: int,
    batch_size: int,
) -> np.ndarray:
    """`expected_gradients` method: hypothetical scores from the integrated gradients of each
    window ``x[i]`` (N, L, 4) from each of its references ``references[i]`` (N, k, L, 4),
    averaged over the references. (N, L, 4) float32."""
    x = np.asarray(x, np.float32)
    n, k = references.shape[:2]
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)  # midpoint rule
    hypothetical = np.zeros(x.shape, np.float32)
    per_window = k * steps
    chunk = max(1, batch_size // per_window)  # windows whose path points fill about one batch
    for first in range(0, n, chunk):
        xs, refs = x[first : first + chunk], references[first : first + chunk]
        # (c, k, steps, L, 4): the points along each straight path from a reference to x
        difference = xs[:, None] - refs
        points = refs[:, :, None] + alphas[None, None, :, None, None] * difference[:, :, None]
        grads = strand_gradients(gradient, points.reshape(-1, *x.shape[1:]), j, batch_size)
        multipliers = grads.reshape(len(xs), k, steps, *x.shape[1:]).mean(axis=2)
        at_reference = (multipliers * refs).sum(axis=-1, keepdims=True)
        hypothetical[first : first + chunk] = (multipliers - at_reference).mean(axis=1)
    return hypothetical


def ism_scores(model: keras.Model, x: np.ndarray, j: int, batch_size: int) -> np.ndarray:
    """`ism` method: each substitution's strand-averaged effect on output j of `model`, minus
    the mean effect of the four bases at its position. (N, L, 4) float32."""
    from seq2chrom.inference.mutagenesis import mutagenesis

    effects = mutagenesis(model, x, np.full(len(x), j), batch_size).effects
    return centred(effects)


def attribute(
    model: keras.Model,
    x: np.ndarray,
    j: int,
    settings: Settings,
    rng: np.random.Generator,
    gradient: GradientFunction | None = None,
) -> np.ndarray:
    """Hypothetical scores (N, L, 4) float32 of output column `j` for one-hot windows `x`.

    model: the model whose output is explained (pass `logit_model` of a trained model); rng:
    draws the references of expected_gradients; gradient: `gradient_function(model)`, made
    once per model by a caller that explains several tracks (built here when None).
    """
    if settings.method not in METHODS:
        raise ValueError(f"method {settings.method!r}: choose from {METHODS}")
    x = np.asarray(x)
    if settings.method == "ism":
        return ism_scores(model, x, j, settings.batch_size)
    gradient = gradient or gradient_function(model)
    if settings.method == "gradient":
        return gradient_scores(gradient, x, j, settings.batch_size)
    references = shuffled_references(x, settings.references, rng)
    return expected_gradient_scores(
        gradient, x, j, references, steps=settings.steps, batch_size=settings.batch_size
    )


def contributions(hypothetical: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The scores of the window's own bases: ``hypothetical x x`` (N, L, 4) float32."""
    return (np.asarray(hypothetical, np.float32) * np.asarray(x, np.float32)).astype(np.float32)
