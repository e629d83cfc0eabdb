"""Torch7's ``optim.sgd`` (torch/optim ``sgd.lua``) as a Keras 3 optimiser, the one DeepSEA
trained with. Import it as `seq2chrom.training.optimizers.TorchSGD`; this module starts Keras,
`optimizers` does not until asked.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seq2chrom")
class TorchSGD(keras.optimizers.Optimizer):
    """Stochastic gradient descent exactly as Torch7's ``optim.sgd``.

    At step t = 0, 1, ... with gradient g of parameter x (every parameter, biases included):

        g <- g + weight_decay * x
        v <- g                                  at t = 0
        v <- momentum * v + (1 - dampening) * g  after     (only when momentum > 0)
        d <- g + momentum * v if nesterov else v (g itself when momentum is 0)
        x <- x - learning_rate / (1 + t * learning_rate_decay) * d

    dampening None means the momentum (Torch's default), so the velocity is an average of
    gradients and a steady gradient g moves x by ``learning_rate * g`` per step; Keras's SGD
    (v <- m v - lr g) moves it ``1 / (1 - m)`` times as far. Nesterov needs momentum > 0 and
    dampening 0, as in Torch. ``learning_rate`` may be changed between epochs (a step schedule);
    the per-step decay then divides the new rate. The weight decay is Torch's, added to the
    gradient before the momentum; Keras's own (decoupled) ``weight_decay`` is not used.
    """

    def __init__(
        self,
        learning_rate: float = 1e-3,
        momentum: float = 0.0,
        dampening: float | None = None,
        weight_decay: float = 0.0,
        learning_rate_decay: float = 0.0,
        nesterov: bool = False,
        name: str = "torch_sgd",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        dampening = momentum if dampening is None else dampening
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum: {momentum}; use 0 <= momentum < 1")
        if not 0 <= dampening <= 1:
            raise ValueError(f"dampening: {dampening}; use 0 <= dampening <= 1")
        if weight_decay < 0 or learning_rate_decay < 0:
            raise ValueError("weight_decay and learning_rate_decay must be >= 0")
        if nesterov and (momentum == 0 or dampening != 0):
            raise ValueError(
                "nesterov: Torch's Nesterov momentum needs momentum > 0 and dampening 0"
            )
        self.momentum = float(momentum)
        self.dampening = float(dampening)
        # not `self.weight_decay`: the base class would apply that one, decoupled, itself
        self.torch_weight_decay = float(weight_decay)
        self.learning_rate_decay = float(learning_rate_decay)
        self.nesterov = bool(nesterov)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.velocities = []
        if self.momentum:
            self.velocities = self.add_optimizer_variables(variables, "velocity")

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient = ops.cast(gradient, dtype)
        if self.torch_weight_decay:
            gradient = gradient + ops.cast(self.torch_weight_decay, dtype) * variable
        step = ops.cast(self.iterations, dtype)  # Torch's evalCounter: 0 at the first step
        rate = ops.cast(learning_rate, dtype) / (1 + step * self.learning_rate_decay)
        if self.momentum:
            velocity = self.velocities[self._get_variable_index(variable)]
            first = ops.equal(self.iterations, 0)  # Torch copies the first gradient
            keep = ops.where(first, 0.0, self.momentum)
            scale = ops.where(first, 1.0, 1.0 - self.dampening)
            self.assign(
                velocity, ops.cast(keep, dtype) * velocity + ops.cast(scale, dtype) * gradient
            )
            if self.nesterov:
                gradient = gradient + ops.cast(self.momentum, dtype) * velocity
            else:
                gradient = velocity
        self.assign_sub(variable, rate * gradient)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "dampening": self.dampening,
            "weight_decay": self.torch_weight_decay,
            "learning_rate_decay": self.learning_rate_decay,
            "nesterov": self.nesterov,
        }
