"""seq2chrom's own Keras objects in the model zoo: an L1 penalty whose size seq2chrom fixes, and
Keras 0.2's LSTM initialisation. Registered under the package name ``seq2chrom``, so a saved
model that holds them loads (`seq2chrom.modelfile.loading` imports this module first).
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seq2chrom")
class ActivityL1(keras.layers.Layer):
    """Pass-through layer adding ``rate * sum(|x|)`` over the whole batch to the loss.

    DeepSEA's L1 penalty as its Torch code applied it: ``nn.L1Penalty(1e-8, false)``
    (sizeAverage off) sums the absolute activations of every sample and unit of the batch,
    beside a cross-entropy averaged over samples and tracks. Keras's ``activity_regularizer``
    is not used because its scaling changed between releases (3.14 began dividing it by the
    batch size). The sum is taken in float32 (float16 activations under mixed precision would
    overflow). On TensorFlow with several GPUs (MirroredStrategy) Keras divides each replica's
    added losses by the number of replicas, so the penalty is then that many times weaker.
    """

    def __init__(self, rate: float, **kwargs):
        super().__init__(**kwargs)
        if rate < 0:
            raise ValueError(f"rate: {rate} < 0")
        self.rate = float(rate)

    def call(self, inputs):
        self.add_loss(self.rate * ops.sum(ops.abs(ops.cast(inputs, "float32"))))
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate}


@keras.saving.register_keras_serializable(package="seq2chrom")
class GateOrthogonal(keras.initializers.Orthogonal):
    """Recurrent kernel ``(units, gates * units)`` made of one orthogonal ``(units, units)``
    block per gate, each times `gain`, as Keras 0.2 initialised each LSTM gate's ``U`` on its
    own (``inner_init='orthogonal'``, scale 1.1). Keras 3's ``Orthogonal`` on the whole kernel
    makes its rows orthonormal instead, so each gate's block is far from orthogonal.
    """

    def __call__(self, shape, dtype=None):
        units, width = shape
        if width % units:
            raise ValueError(f"shape {tuple(shape)}: width is not a multiple of units")
        gates = width // units
        a = keras.random.normal((gates, units, units), seed=self.seed, dtype=dtype)
        q, r = ops.qr(a)  # each q uniform over orthogonal matrices once signs are fixed
        q = q * ops.expand_dims(ops.sign(ops.diagonal(r, axis1=-2, axis2=-1)), -2)
        return self.gain * ops.reshape(ops.transpose(q, (1, 0, 2)), (units, width))
