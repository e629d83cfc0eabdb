"""Which devices a job trains on: what the scheduler gave, what the framework sees, `train.device`.

Two steps, because hiding GPUs only works before the framework starts:

1. ``select_devices(device)``, before Keras is imported: reads the GPUs the scheduler gave
   (``CUDA_VISIBLE_DEVICES``, ``SLURM_JOB_GPUS``, ``SLURM_STEP_GPUS``,
   ``SLURM_GPUS_ON_NODE``), hides every GPU for ``cpu``, asks the backend framework
   (TensorFlow, JAX or PyTorch) which GPUs it sees and decides, or stops with one line when a
   GPU was given or required but cannot be used.
2. ``setup_device(selection, seed, mixed_precision, batch_size)``, after: seeds, sets mixed
   precision and the multi-GPU distribution (``MirroredStrategy`` on TensorFlow,
   ``keras.distribution.DataParallel`` on JAX), and returns the ``Devices`` record that goes
   to the training log, the model's ``config.yaml`` and ``history.tsv``.

Nothing here imports a framework at module level: the benchmark runs where TensorFlow is absent.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import statistics
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from seq2chrom.errors import InputError

log = logging.getLogger(__name__)

DEVICES = ("auto", "gpu", "cpu")
SCHEDULER_VARIABLES = (
    "CUDA_VISIBLE_DEVICES",
    "SLURM_JOB_GPUS",
    "SLURM_STEP_GPUS",
    "SLURM_GPUS_ON_NODE",
)
# values by which a scheduler (or a user) says "no GPU"; Slurm writes NoDevFiles when the
# node's gres has no device files. "0" is none only as a count (SLURM_GPUS_ON_NODE).
NO_GPU_VALUES = {"", "-1", "nodevfiles", "none"}
# With pip's CUDA libraries, a CUDA module loaded beside them puts a second CUDA on the
# library path: the fixes say to leave the modules out.
GPU_FIX = {
    "tensorflow": 'make setup GPU=1 (pip install -e ".[gpu]": TensorFlow with its CUDA '
    "libraries), with no CUDA or cuDNN module loaded",
    "jax": 'pip install "jax[cuda12]", with no CUDA or cuDNN module loaded',
    "torch": "install a CUDA build of PyTorch (pytorch.org/get-started/locally)",
}


@dataclass(frozen=True)
class Selection:
    """Outcome of ``select_devices``: ``kind`` 'gpu' or 'cpu', GPU names, what was given."""

    device: str
    kind: str
    backend: str
    names: tuple[str, ...] = ()
    given: dict[str, str] = field(default_factory=dict)


@dataclass
class Devices:
    """The devices a run used: backend, kind, GPU names, mixed precision, batch per device.

    ``samples_per_s`` is filled in after training (median of the epochs this run trained).
    """

    backend: str
    kind: str
    names: tuple[str, ...]
    mixed_precision: bool
    batch_size: int
    distribution: str = "none"
    samples_per_s: float | None = None
    scope: contextlib.AbstractContextManager = field(
        default_factory=contextlib.nullcontext, repr=False
    )

    @property
    def count(self) -> int:
        return len(self.names) if self.kind == "gpu" else 1

    @property
    def batch_per_device(self) -> int:
        """Samples of one global batch each device computes (the batch is split evenly)."""
        return -(-self.batch_size // self.count)

    def summary(self) -> str:
        """One line for the log and history.tsv: '2 x NVIDIA A100 (jax, float32, 50/device)'."""
        what = f"{self.count} x {self.names[0]}" if self.kind == "gpu" else "CPU"
        precision = "mixed_float16" if self.mixed_precision else "float32"
        return f"{what} ({self.backend}, {precision}, {self.batch_per_device}/device)"

    def record(self) -> dict:
        """The ``devices:`` entry of the model's config.yaml."""
        return {
            "kind": self.kind,
            "count": self.count,
            "names": list(self.names) if self.kind == "gpu" else ["CPU"],
            "backend": self.backend,
            "distribution": self.distribution,
            "mixed_precision": self.mixed_precision,
            "batch_size": self.batch_size,
            "batch_per_device": self.batch_per_device,
            "samples_per_s": self.samples_per_s,
        }


def median_rate(history: list[dict]) -> float | None:
    """Median training samples/s over history rows that have one (epochs of older runs may not)."""
    rates = [row["samples_per_s"] for row in history if row.get("samples_per_s")]
    return round(statistics.median(rates), 1) if rates else None


def scheduler_gpus(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables by which the scheduler gave this job GPUs: name -> value; {} when none.

    ``CUDA_VISIBLE_DEVICES`` decides when set: empty, ``-1`` or ``NoDevFiles`` means none,
    whatever the SLURM variables say (the job, or its user, hid the GPUs).
    """
    environ = os.environ if environ is None else environ
    cuda = environ.get("CUDA_VISIBLE_DEVICES")
    if cuda is not None and _no_gpu(cuda, count=False):
        return {}
    return {
        name: environ[name]
        for name in SCHEDULER_VARIABLES
        if name in environ and not _no_gpu(environ[name], count=name == "SLURM_GPUS_ON_NODE")
    }


def _no_gpu(value: str, count: bool) -> bool:
    value = value.strip().lower()
    # "0" is the first GPU's index in a device list but "no GPU" as a count
    return value in NO_GPU_VALUES or (count and value == "0")


def backend_name() -> str:
    """The Keras backend without importing Keras: KERAS_BACKEND, else keras.json, else TF."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return json.loads((home / "keras.json").read_text()).get("backend", "tensorflow")
    return "tensorflow"


def use_job_threads() -> None:
    """Let TensorFlow use the cores Snakemake granted a job (its threads, as OMP_NUM_THREADS)."""
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads and os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(min(2, int(threads)))
        except RuntimeError:  # TensorFlow already initialised in this process (tests)
            pass


def hide_gpus(environ: MutableMapping[str, str] | None = None) -> None:
    """Make every framework see no GPU (``train.device: cpu``); call before it initialises."""
    environ = os.environ if environ is None else environ
    environ["CUDA_VISIBLE_DEVICES"] = "-1"
    environ["JAX_PLATFORMS"] = "cpu"
    if environ is not os.environ:  # a test's mapping: leave this process's frameworks alone
        return
    # imported already (notebooks): each may not have started its devices yet
    if "tensorflow" in sys.modules:
        with contextlib.suppress(RuntimeError):
            sys.modules["tensorflow"].config.set_visible_devices([], "GPU")
    if "jax" in sys.modules:
        with contextlib.suppress(RuntimeError, AttributeError):
            sys.modules["jax"].config.update("jax_platforms", "cpu")


def framework_gpus(backend: str) -> tuple[list[str], str]:
    """GPU names the framework of ``backend`` sees, and the framework's name and version."""
    if backend == "tensorflow":
        import tensorflow as tf

        label = f"TensorFlow {tf.__version__}"
        if not tf.test.is_built_with_cuda():
            label += " (a build without CUDA)"
        gpus = tf.config.list_physical_devices("GPU")
        return [
            tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
            for gpu in gpus
        ], label
    if backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform in ("gpu", "cuda", "rocm")]
        return [d.device_kind for d in gpus], f"JAX {jax.__version__} ({jax.default_backend()})"
    if backend == "torch":
        import torch

        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return names, f"PyTorch {torch.__version__}"
    return [], backend


def decide(device: str, given: dict[str, str], seen: list[str], framework: str, backend: str):
    """'gpu' or 'cpu' for ``device`` (auto|gpu|cpu); InputError (one line) when it cannot be.

    ``given``: ``scheduler_gpus()``; ``seen``: GPU names the framework sees; ``framework``:
    its name and version for the message.
    """
    if device == "cpu":
        return "cpu"
    if seen:
        return "gpu"
    fix = f"{GPU_FIX.get(backend, GPU_FIX['tensorflow'])}, or set train.device: cpu"
    if given:
        gave = ", ".join(f"{name}={value}" for name, value in given.items())
        raise InputError(
            f"train.device {device}",
            f"the scheduler gave this job GPUs ({gave}) but {framework} sees none",
            fix=fix,
        )
    if device == "gpu":
        raise InputError(
            "train.device gpu",
            f"no GPU: the scheduler gave none and {framework} sees none",
            fix="run on a GPU node (the profile's gpu resource) or set train.device: auto",
        )
    return "cpu"


def select_devices(device: str = "auto", environ: MutableMapping[str, str] | None = None):
    """Check ``device`` against the scheduler and the framework; hide GPUs for ``cpu``.

    Call before Keras is imported. Returns a ``Selection``; raises InputError (one line naming
    what the scheduler gave, what the framework sees and the fix) when a GPU was given or
    required and the framework sees none.
    """
    if device not in DEVICES:
        raise InputError("train.device", f"{device!r} is not one of {', '.join(DEVICES)}")
    given = scheduler_gpus(environ)
    if device == "cpu":
        hide_gpus(environ)
    backend = backend_name()
    seen, framework = framework_gpus(backend) if device != "cpu" else ([], backend)
    kind = decide(device, given, seen, framework, backend)
    return Selection(device, kind, backend, tuple(seen) if kind == "gpu" else (), given)


def distribution_for(backend: str, n_gpus: int) -> str:
    """Data parallelism for ``n_gpus``: 'mirrored' (TensorFlow), 'data_parallel' (JAX), 'none'.

    PyTorch's multi-GPU training needs a launcher (torchrun) Keras does not provide, so it runs
    on one GPU.
    """
    if n_gpus < 2:
        return "none"
    return {"tensorflow": "mirrored", "jax": "data_parallel"}.get(backend, "none")


def jax_data_parallel(devices: list[str] | None = None):
    """``keras.distribution.DataParallel`` over ``devices`` (default: every GPU), set globally.

    Each batch is split along its first axis across the devices; weights are replicated.
    """
    import keras

    devices = devices or keras.distribution.list_devices("gpu")
    distribution = keras.distribution.DataParallel(devices=devices)
    keras.distribution.set_distribution(distribution)
    return distribution


def setup_device(
    selection: Selection, seed: int, mixed_precision: bool = False, batch_size: int = 100
) -> Devices:
    """Seed everything, set mixed precision and multi-GPU distribution; log and return Devices.

    Build and compile the model inside ``devices.scope`` (a ``MirroredStrategy`` scope with
    several GPUs under TensorFlow; no-op otherwise). On CPU under TensorFlow op determinism is
    enabled so runs repeat exactly.
    """
    import keras

    keras.utils.set_random_seed(seed)
    backend = keras.backend.backend()
    n_gpus = len(selection.names) if selection.kind == "gpu" else 0
    if n_gpus == 0 and backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    distribution = distribution_for(backend, n_gpus)
    scope: contextlib.AbstractContextManager = contextlib.nullcontext()
    if distribution == "mirrored":
        import tensorflow as tf

        scope = tf.distribute.MirroredStrategy().scope()
    elif distribution == "data_parallel":
        jax_data_parallel()
        if batch_size % n_gpus:
            log.warning(
                "train.batch_size %d is not a multiple of the %d GPUs: each batch is cut to %d",
                batch_size,
                n_gpus,
                batch_size // n_gpus * n_gpus,
            )
    devices = Devices(
        backend, selection.kind, selection.names, mixed_precision, batch_size, distribution,
        scope=scope,
    )  # fmt: skip
    given = ", ".join(f"{k}={v}" for k, v in selection.given.items()) or "no GPU"
    log.info(
        "devices: %s; train.device %s, scheduler gave %s, distribution %s",
        devices.summary(),
        selection.device,
        given,
        distribution,
    )
    return devices


def visible_gpus() -> int:
    """Number of GPUs the active Keras backend can use."""
    import keras

    return len(framework_gpus(keras.backend.backend())[0])
