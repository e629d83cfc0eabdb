"""The one predictor: a model's predictions averaged over both strands.

`predict_both_strands` is what every prediction of a trained model goes through: the evaluation
predictions of a split (`predict_file`, streamed from a split HDF5 file into another), the
fine-tuning comparison, prediction tracks, mutagenesis and (passed in by `seq2chrom
score-variants`) variant effects. It is the mean of `predict_strands`, the two strands'
own predictions from one model call, which `predict_file` can also keep (``strands=True``: each
strand scored as a sample of its own, as DanQ's published AUROCs were). Keras is not imported
here: callers import this module before the devices are chosen.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seq2chrom.data.one_hot import reverse_complement
from seq2chrom.splitfile import X, create_predictions_file, create_strand_predictions, open_split

if TYPE_CHECKING:
    import keras


def predict_strands(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """The predictions for ``x`` [0] and for its reverse complement [1].

    x: (B, L, 4) float32 one-hot A,C,G,T -> (2, B, T) float32. One model call on 2B sequences.
    """
    both = np.concatenate([x, reverse_complement(x)])
    p = np.asarray(model.predict_on_batch(both), dtype=np.float32)
    return p.reshape(2, len(x), *p.shape[1:])


def predict_both_strands(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Mean of the predictions for ``x`` and its reverse complement.

    x: (B, L, 4) float32 one-hot A,C,G,T -> (B, T) float32. One model call on 2B sequences.
    """
    return strand_mean(predict_strands(model, x))


def strand_mean(p: np.ndarray) -> np.ndarray:
    """(2, B, T) per-strand predictions (`predict_strands`) -> (B, T) their mean, float32."""
    return (p[0] + p[1]) / 2


def strand_averaged_batches(
    model: keras.Model, split: str | Path, batch_size: int = 256
) -> Iterator[tuple[int, np.ndarray]]:
    """``(first row, predictions)`` for consecutive blocks of ``split``, in file order.

    Each block is ``predict_both_strands`` of up to ``batch_size`` sequences: (B, T) float32.
    """
    for start, block in strand_batches(model, split, batch_size):
        yield start, strand_mean(block)


def strand_batches(
    model: keras.Model, split: str | Path, batch_size: int = 256
) -> Iterator[tuple[int, np.ndarray]]:
    """``(first row, predict_strands of the block)``: (2, B, T) float32 for consecutive blocks
    of up to ``batch_size`` sequences of ``split``, in file order."""
    from seq2chrom.training.batches import H5Batches  # imports Keras

    batches = H5Batches(
        split,
        batch_size,
        shuffle=False,
        reverse_complement=False,
        labels=False,
        block_size=batch_size,
        buffer_blocks=8,
    )
    try:
        for index in range(len(batches)):
            yield index * batch_size, predict_strands(model, batches[index])
    finally:
        batches.close()


def predict_split(model: keras.Model, split: str | Path, batch_size: int = 256) -> np.ndarray:
    """Strand-averaged predictions ``(N, T)`` float32 for every row of ``split``, in memory."""
    blocks = [block for _, block in strand_averaged_batches(model, split, batch_size)]
    return np.concatenate(blocks) if blocks else np.zeros((0, model.output_shape[-1]), "float32")


def predict_file(
    model: keras.Model,
    split: str | Path,
    out: str | Path,
    batch_size: int = 256,
    *,
    strands: bool = False,
) -> None:
    """Write ``out`` (HDF5): ``y_pred`` (N, T) float32 strand-averaged, ``tracks`` strings.

    Reads ``split`` in file order ``batch_size`` sequences at a time; memory is flat in N.
    ``chrom`` and ``start`` are copied when present so rows can be traced back to bins. With
    ``strands``, also ``y_pred_strands`` (2, N, T): the forward and reverse-complement
    predictions that y_pred averages (twice y_pred's size on disk).
    """
    n_tracks = int(model.outputs[0].shape[-1])
    with (
        open_split(split, (X,)) as source,
        create_predictions_file(out, source, n_tracks) as y_pred,
    ):
        y_strands = create_strand_predictions(y_pred) if strands else None
        for start, block in strand_batches(model, split, batch_size):
            rows = slice(start, start + block.shape[1])
            y_pred[rows] = strand_mean(block)
            if y_strands is not None:
                y_strands[:, rows] = block
