"""Which GPU checks a run needs: one per GPU partition and type its profile asks for.

The workflow (rules/gpu_common.smk) hands ``check_plan`` the resources the profile (or
``--set-resources``) gives each GPU rule, as written there, and train.device: ``gpu`` checks for
every GPU rule; ``auto`` only for the rules whose resources ask a scheduler for a GPU (a `gpu`
count, a `gpu_model`, a GPU `gres`, or `--gpus*`/`--gres=gpu` in `slurm_extra`); ``cpu`` none.
The check itself is seq2chrom.check_gpu.
"""

from __future__ import annotations

import ast
import itertools
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

# A rule's profile resources the check job copies, so that it lands where that rule's jobs do.
CHECK_RESOURCES = (
    "slurm_partition",
    "slurm_account",
    "qos",
    "constraint",
    "gpu",
    "gpu_model",
    "gres",
    "slurm_extra",
)
GPU_FLAG = re.compile(r"^--(gpus|gpus-per-node|gpus-per-task|gres)(=(?P<value>.*))?$")


@dataclass(frozen=True)
class CheckPlan:
    """GPU rule -> name of the check it waits for; check name -> resources of its job."""

    rule_checks: dict[str, str] = field(default_factory=dict)
    resources: dict[str, dict[str, object]] = field(default_factory=dict)


def resource_value(raw: object) -> object:
    """A profile resource as Snakemake evaluates it: a Python literal, else the text itself.

    >>> resource_value("'gpu:v100x:1'"), resource_value("0"), resource_value("a100")
    ('gpu:v100x:1', 0, 'a100')
    """
    if not isinstance(raw, str):
        return raw
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw  # Snakemake keeps a bare word (a100) as text; an expression stays its text
    return value if isinstance(value, str | int | float) else raw


def _gpu_type(spec: str) -> str:
    """'v100x' from 'gpu:v100x:1' (a GRES) or 'v100x:1' (--gpus*); '' when untyped."""
    parts = spec.split(":")
    if parts[0] == "gpu":
        parts = parts[1:]
    return parts[0] if len(parts) == 2 else ""


def gpu_request(resources: Mapping[str, object]) -> tuple[str, str] | None:
    """(partition, GPU type) a rule's profile resources ask for; None when they ask no GPU.

    A GPU is asked for by a `gpu` count above 0, a `gpu_model`, a `gres` naming `gpu`, or a
    `--gpus*`/`--gres=gpu` option in `slurm_extra`; the type is '' when none is named.
    """
    values = {name: resource_value(value) for name, value in resources.items()}
    count, model = values.get("gpu"), str(values.get("gpu_model") or "")
    gres = [part for part in str(values.get("gres") or "").split(",") if part.startswith("gpu")]
    tokens, flags = shlex.split(str(values.get("slurm_extra") or "")), []
    for token, following in itertools.pairwise([*tokens, ""]):
        match = GPU_FLAG.match(token)
        if match:  # --gpus-per-node=v100x:1, --gres=gpu:v100x:1,lscratch:100 or --gres gpu:1
            specs = (following if match["value"] is None else match["value"]).split(",")
            flags += [spec for spec in specs if match[1] != "gres" or spec.startswith("gpu")]
    asks = bool(model or gres or flags) or (count not in (None, "", 0, "0"))
    if not asks:
        return None
    types = [model] if model else [_gpu_type(spec) for spec in gres + flags]
    return str(values.get("slurm_partition") or ""), next((t for t in types if t), "")


def check_name(partition: str, gpu_type: str) -> str:
    """The check's name (its flag file's): 'gpu-v100x', 'default-any'."""
    name = f"{partition or 'default'}-{gpu_type or 'any'}"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def check_resources(
    resources: Mapping[str, object], defaults: Mapping[str, object]
) -> dict[str, object]:
    """Resources of a check job that lands where a rule with `resources` does: its partition,
    account, QOS, constraint and GPU request (the profile's defaults where the rule has none;
    the GPU rules' own `gpu=1` where neither sets `gpu`), without `--requeue`."""
    values = {name: resource_value(resources[name]) for name in resources}
    fallback = {name: resource_value(defaults[name]) for name in defaults}
    check = {name: values.get(name, fallback.get(name, "")) for name in CHECK_RESOURCES}
    check["gpu"] = values.get("gpu", 1)
    extra = shlex.split(str(check["slurm_extra"] or ""))
    check["slurm_extra"] = shlex.join(t for t in extra if t not in ("--requeue", "--no-requeue"))
    return {name: "" if value is None else value for name, value in check.items()}


def check_plan(
    device: str, rules: Mapping[str, Mapping[str, object]], defaults: Mapping[str, object]
) -> CheckPlan:
    """Checks a run needs, one per GPU partition and type.

    device: train.device. rules: each GPU rule's resources set by the profile or
    `--set-resources` (raw values, as written there), in the order the rules are defined.
    defaults: the profile's default-resources. `cpu`: no check; `auto`: one for each request
    of a GPU from a scheduler; `gpu`: also for rules that ask none (their own `gpu=1`, on the
    default partition: a local run checks this machine). A check takes the resources of the
    first rule that needs it.
    """
    plan = CheckPlan()
    if device == "cpu":
        return plan
    default_partition = str(resource_value(defaults.get("slurm_partition")) or "")
    for rule, resources in rules.items():
        request = gpu_request(resources)
        if request is None and device != "gpu":
            continue
        partition, gpu_type = request or ("", "")
        name = check_name(partition or default_partition, gpu_type)
        plan.rule_checks[rule] = name
        plan.resources.setdefault(name, check_resources(resources, defaults))
    return plan
