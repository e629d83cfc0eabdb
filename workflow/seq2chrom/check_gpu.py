"""The GPU check (`seq2chrom check-gpu`, rule `check_gpu`): does this job's GPU train?

``gpu_report()`` gathers what the scheduler gave (its variables), the driver (``nvidia-smi``),
what TensorFlow sees (and JAX, when installed) with the CUDA and cuDNN versions TensorFlow was
built for, and runs one small convolution + LSTM training step with the Keras backend when its
framework sees a GPU. ``verdict(report)`` passes only when that step ran on a GPU; otherwise it
raises one line naming what is missing and the fix. Which checks a run needs:
seq2chrom.gpu_requests.

Frameworks are imported inside the functions that query them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass

from seq2chrom.devices import GPU_FIX, SCHEDULER_VARIABLES, backend_name, scheduler_gpus
from seq2chrom.errors import InputError

# Variables a GPU job's report shows: the scheduler's GPU grant, then where the job runs.
REPORT_VARIABLES = (
    *SCHEDULER_VARIABLES,
    "SLURM_GPUS",
    "SLURM_GPUS_PER_NODE",
    "GPU_DEVICE_ORDINAL",
    "SLURM_JOB_ID",
    "SLURM_JOB_PARTITION",
)
RUN_ON_GPU = (
    "run it inside a GPU allocation, e.g. `sinteractive --gres=gpu:v100x:1` then "
    "`seq2chrom check-gpu`, or `srun -p gpu --gres=gpu:1 seq2chrom check-gpu`; for a run on "
    "CPUs set train.device: cpu"
)


@dataclass(frozen=True)
class Driver:
    """What nvidia-smi reports: driver version, the CUDA version it supports, its GPUs."""

    version: str
    cuda: str
    gpus: tuple[str, ...]


@dataclass(frozen=True)
class Framework:
    """What one framework sees: 'TensorFlow 2.21.0', its CUDA build, GPU names.

    min_capability: the oldest compute capability the build has kernels for (None: unknown).
    """

    name: str
    build: str
    gpus: tuple[str, ...]
    min_capability: float | None = None


@dataclass(frozen=True)
class Step:
    """The convolution + LSTM training step: where its output lives, seconds, error text."""

    backend: str
    device: str
    seconds: float
    error: str = ""

    @property
    def on_gpu(self) -> bool:
        return not self.error and self.device.upper().startswith(("GPU", "CUDA", "ROCM"))


@dataclass(frozen=True)
class Report:
    """Everything `seq2chrom check-gpu` prints; `lines()` is the report."""

    host: str
    given: dict[str, str]  # scheduler_gpus(): the variables that grant GPUs
    context: dict[str, str]  # every REPORT_VARIABLE set
    driver: Driver | None
    frameworks: dict[str, Framework]  # backend name -> what it sees
    backend: str
    keras_backend: str  # KERAS_BACKEND as set ('' when unset)
    step: Step | None

    @property
    def framework(self) -> Framework:
        """The Keras backend's framework."""
        return self.frameworks.get(self.backend) or Framework(self.backend, "", ())

    def lines(self) -> list[str]:
        granted = ", ".join(f"{k}={v}" for k, v in self.context.items()) or "no GPU variables"
        scheduler = "gave GPUs" if self.given else "gave no GPU"
        lines = [f"host {self.host}: scheduler {scheduler} ({granted})"]
        if self.driver is None:
            lines.append("driver: nvidia-smi not found or failed")
        else:
            gpus = "; ".join(self.driver.gpus) or "no GPU listed"
            lines.append(f"driver: NVIDIA {self.driver.version}, CUDA {self.driver.cuda}: {gpus}")
        for framework in self.frameworks.values():
            gpus = "; ".join(framework.gpus) or "no GPU"
            lines.append(f"{framework.name} ({framework.build}): {gpus}")
        where = f"Keras on {self.backend} (KERAS_BACKEND={self.keras_backend or 'unset'})"
        if self.step is None:
            lines.append(f"{where}: convolution + LSTM step not run ({self.backend} sees no GPU)")
        elif self.step.error:
            lines.append(f"{where}: convolution + LSTM step failed: {self.step.error}")
        else:
            ran = f"ran on {self.step.device} in {self.step.seconds:.1f} s"
            lines.append(f"{where}: convolution + LSTM training step {ran}")
        return lines


def parse_nvidia_smi(query: str, banner: str) -> Driver:
    """Driver from `nvidia-smi --query-gpu=index,name,driver_version,compute_cap
    --format=csv,noheader` (`query`) and plain `nvidia-smi` (`banner`, for 'CUDA Version')."""
    gpus, version = [], ""
    for row in query.strip().splitlines():
        fields = [value.strip() for value in row.split(",")]
        if len(fields) < 3:
            continue
        version = fields[2]
        capability = f" (compute capability {fields[3]})" if len(fields) > 3 else ""
        gpus.append(f"GPU {fields[0]} {fields[1]}{capability}")
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", banner)
    return Driver(version or "unknown", cuda[1] if cuda else "unknown", tuple(gpus))


def nvidia_smi() -> Driver | None:
    """The driver as nvidia-smi reports it; None when nvidia-smi is absent or fails."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        banner = _run(["nvidia-smi"])
        fields = "index,name,driver_version"
        try:
            query = _run(
                ["nvidia-smi", f"--query-gpu={fields},compute_cap", "--format=csv,noheader"]
            )
        except subprocess.CalledProcessError:  # drivers before compute_cap was a field
            query = _run(["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader"])
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_nvidia_smi(query, banner)


def _run(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout


def min_capability(capabilities: list[str]) -> float | None:
    """Oldest compute capability a TensorFlow build runs on: 6.0 from ['sm_60', 'compute_90']."""
    found = [int(c[3:]) / 10 for c in capabilities if re.fullmatch(r"sm_\d+", c)]
    return min(found) if found else None


def tensorflow_view() -> Framework:
    """What TensorFlow sees: version, CUDA/cuDNN it was built for, GPUs with compute capability.

    Turns on memory growth, so that the check takes only the GPU memory it uses.
    """
    import tensorflow as tf

    info = tf.sysconfig.get_build_info()
    minimum = min_capability(list(info.get("cuda_compute_capabilities", [])))
    if info.get("is_cuda_build"):
        build = f"built for CUDA {info.get('cuda_version')}, cuDNN {info.get('cudnn_version')}"
        build += f", GPUs of compute capability {minimum} or newer" if minimum else ""
    else:
        build = "a build without CUDA"
    names = []
    for gpu in tf.config.list_physical_devices("GPU"):
        with contextlib.suppress(RuntimeError):  # already initialised in this process
            tf.config.experimental.set_memory_growth(gpu, True)
        details = tf.config.experimental.get_device_details(gpu)
        capability = details.get("compute_capability")
        text = f" (compute capability {'.'.join(map(str, capability))})" if capability else ""
        names.append(f"{details.get('device_name', gpu.name)}{text}")
    return Framework(f"TensorFlow {tf.__version__}", build, tuple(names), minimum)


def jax_view() -> Framework:
    """What JAX sees: version, its default backend, GPUs with compute capability."""
    import jax

    names = []
    for device in jax.devices():
        if device.platform in ("gpu", "cuda", "rocm"):
            capability = getattr(device, "compute_capability", None)
            text = f" (compute capability {capability})" if capability else ""
            names.append(f"{device.device_kind}{text}")
    return Framework(f"JAX {jax.__version__}", f"{jax.default_backend()}", tuple(names))


def torch_view() -> Framework:
    """What PyTorch sees: version, the CUDA it was built for, GPUs with compute capability."""
    import torch

    names = [
        f"{torch.cuda.get_device_name(i)} (compute capability "
        f"{'.'.join(map(str, torch.cuda.get_device_capability(i)))})"
        for i in range(torch.cuda.device_count())
    ]
    build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a build without CUDA"
    return Framework(f"PyTorch {torch.__version__}", build, tuple(names))


VIEWS = {"tensorflow": tensorflow_view, "jax": jax_view, "torch": torch_view}


def tensor_device(tensor: object) -> str:
    """'GPU:0', 'cuda:0', 'cpu:0': where a TensorFlow, JAX or PyTorch tensor lives."""
    if hasattr(tensor, "devices"):  # JAX array
        device = next(iter(tensor.devices()))
        return f"{device.platform}:{device.id}"
    return str(tensor.device).rsplit("device:", 1)[-1]  # TF '/job:.../device:GPU:0', torch


def run_step(seed: int = 0) -> Step:
    """One training step of a tiny convolution + BiLSTM model (DanQ's layer types) with the
    active Keras backend, then a prediction; returns where the prediction's tensor lives."""
    import keras
    import numpy as np

    backend = keras.backend.backend()
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype="float32")[rng.integers(0, 4, size=(8, 64))]  # (8, 64, 4) one-hot
    y = rng.integers(0, 2, size=(8, 2)).astype("float32")
    inputs = keras.Input(shape=(64, 4))
    hidden = keras.layers.Conv1D(8, 9, activation="relu")(inputs)
    hidden = keras.layers.MaxPooling1D(4)(hidden)
    hidden = keras.layers.Bidirectional(keras.layers.LSTM(8, return_sequences=True))(hidden)
    outputs = keras.layers.Dense(2, activation="sigmoid")(keras.layers.Flatten()(hidden))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    started = time.perf_counter()
    try:
        loss = float(np.asarray(model.train_on_batch(x, y)).ravel()[0])
        device = tensor_device(model(x, training=False))
    except Exception as error:  # a failing kernel: its first line is the answer
        text = str(error).strip().splitlines()
        return Step(backend, "", time.perf_counter() - started, text[0] if text else repr(error))
    if not np.isfinite(loss):
        return Step(backend, device, time.perf_counter() - started, f"loss is {loss}")
    return Step(backend, device, time.perf_counter() - started)


def gpu_report(environ: Mapping[str, str] | None = None) -> Report:
    """Gather the report; the step runs only when the Keras backend's framework sees a GPU."""
    environ = os.environ if environ is None else environ
    from importlib.util import find_spec

    backend = backend_name()
    frameworks = {}
    for name in ("tensorflow", "jax", backend):
        if name in VIEWS and name not in frameworks and find_spec(name) is not None:
            try:
                frameworks[name] = VIEWS[name]()
            except Exception as error:  # a broken install: the report says so, sees no GPU
                first = (str(error).strip().splitlines() or [repr(error)])[0]
                frameworks[name] = Framework(name, f"failed to start: {first}", ())
    seen = frameworks.get(backend)
    step = run_step() if seen is not None and seen.gpus else None
    return Report(
        host=socket.gethostname(),
        given=scheduler_gpus(environ),
        context={name: environ[name] for name in REPORT_VARIABLES if name in environ},
        driver=nvidia_smi(),
        frameworks=frameworks,
        backend=backend,
        keras_backend=environ.get("KERAS_BACKEND", ""),
        step=step,
    )


def verdict(report: Report) -> None:
    """Pass when the step ran on a GPU; otherwise raise InputError: what is missing, the fix."""
    step, framework = report.step, report.framework
    if step is not None and step.on_gpu:
        return
    fix = f"{GPU_FIX.get(report.backend, GPU_FIX['tensorflow'])}, or set train.device: cpu"
    if step is not None and step.error:
        gpu = framework.gpus[0] if framework.gpus else "the GPU"
        capability = re.search(r"compute capability ([\d.]+)", gpu)
        minimum = framework.min_capability
        if capability and minimum and float(capability[1]) < minimum:
            fix = (
                f"ask the profile for a GPU type of compute capability {minimum} or newer "
                f"({framework.name} has no kernels for {capability[1]}: profiles/README.md, "
                "GPU type)"
            )
        raise InputError(report.host, f"the step failed on {gpu}: {step.error}", fix=fix)
    if step is not None:
        raise InputError(
            report.host,
            f"{framework.name} sees {len(framework.gpus)} GPU(s) but the step ran on {step.device}",
            fix=fix,
        )
    if report.given:
        gave = ", ".join(f"{name}={value}" for name, value in report.given.items())
        message = f"the scheduler gave this job GPUs ({gave}) but {framework.name} sees none"
        raise InputError(report.host, message, fix=fix)
    if report.driver is not None and report.driver.gpus:
        message = (
            f"nvidia-smi lists {len(report.driver.gpus)} GPU(s) but {framework.name} sees none"
        )
        raise InputError(report.host, message, fix=fix)
    message = f"no GPU: the scheduler gave this job none and {framework.name} sees none"
    raise InputError(report.host, message, fix=RUN_ON_GPU)
