"""The GPU check: which checks a profile's GPU requests need (seq2chrom.gpu_requests), the
report, and the verdict (seq2chrom.check_gpu: exit status 0 only when a convolution + LSTM step
ran on a GPU). Real GPUs are not here: the job side runs for real on this CPU machine (no GPU:
one line, exit 1), the verdict on reports as a GPU node would give them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from seq2chrom.check_gpu import (
    Driver,
    Framework,
    Report,
    Step,
    gpu_report,
    min_capability,
    parse_nvidia_smi,
    run_step,
    verdict,
)
from seq2chrom.cli import main
from seq2chrom.errors import InputError
from seq2chrom.gpu_requests import check_plan, check_resources, gpu_request

REPO = Path(__file__).resolve().parents[2]
# the GPU rules in the order the workflow defines them (each waits for its check)
GPU_RULES = ["train", "predict", "finetune_base", "finetune_tuned", "finetune_comparison"]
GPU_RULES += ["motif_pwms", "variant_effects", "predict_region", "mutagenesis"]


def profile(name: str) -> tuple[dict, dict]:
    """A shipped profile's set-resources (per GPU rule, as written) and default-resources."""
    config = yaml.safe_load((REPO / "profiles" / name / "config.yaml").read_text())
    rules = {rule: config.get("set-resources", {}).get(rule, {}) for rule in GPU_RULES}
    return rules, config.get("default-resources", {})


def rule_blocks() -> list[tuple[str, str, str]]:
    """(rule, parent of `use rule ... as rule`, text) of every rule in workflow/rules/."""
    blocks = []
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        parts = re.split(
            r"^\s*(?:rule (\w+)|use rule (\w+) as (\w+) with):$", path.read_text(), flags=re.M
        )
        for rule, parent, child, text in zip(*[iter(parts[1:])] * 4, strict=True):
            blocks.append((rule or child, parent or "", text))
    return blocks


def test_every_gpu_rule_waits_for_its_check():
    """Each rule with `gpu=1` (and each `use rule` of one) calls gpu_checked with its name."""
    blocks = rule_blocks()
    gpu = {rule for rule, _, text in blocks if re.search(r"^\s+gpu=1,$", text, flags=re.M)}
    gpu |= {rule for rule, parent, _ in blocks if parent in gpu}
    assert set(GPU_RULES) <= gpu
    for rule, _, text in blocks:
        waits = re.findall(r'^\s+gpu_checked=gpu_checked\("(\w+)"\),$', text, flags=re.M)
        assert waits == ([rule] if rule in gpu else []), rule


@pytest.mark.parametrize(
    ("resources", "asked"),
    [
        ({}, None),
        ({"gpu": 0, "slurm_partition": "'gpu'"}, None),
        ({"gres": "'lscratch:100'", "slurm_extra": "'--requeue'"}, None),
        ({"gpu": 1, "slurm_partition": "gpu"}, ("gpu", "")),
        ({"gpu": "1", "gpu_model": "a100"}, ("", "a100")),
        ({"gpu": 0, "gres": "'gpu:v100x:1'"}, ("", "v100x")),
        ({"gres": "'lscratch:100,gpu:p100:2'"}, ("", "p100")),
        ({"slurm_extra": "'--requeue --gpus-per-node=v100x:1'"}, ("", "v100x")),
        ({"slurm_extra": "'--gres=lscratch:10,gpu:a100:4'"}, ("", "a100")),
        ({"slurm_extra": "'--gres gpu:2'"}, ("", "")),
        ({"slurm_extra": "'--gres=lscratch:10'"}, None),
    ],
)  # fmt: skip
def test_gpu_request_reads_every_form_a_profile_asks_in(resources, asked):
    assert gpu_request(resources) == asked


def test_biowulf_runs_one_check_on_its_gpu_type_and_copies_the_request():
    rules, defaults = profile("biowulf")
    plan = check_plan("auto", rules, defaults)
    assert set(plan.rule_checks) == set(GPU_RULES)
    assert set(plan.rule_checks.values()) == {"gpu-v100x"}
    [resources] = plan.resources.values()
    # the check asks what the training rule asks (its form), without requeue
    assert gpu_request(resources) == ("gpu", "v100x")
    assert resources == check_resources(rules["train"], defaults)
    assert "--requeue" not in str(resources["slurm_extra"])


def test_another_gpu_type_for_one_rule_gets_its_own_check():
    rules, defaults = profile("biowulf")
    rules["predict"] = {**rules["predict"], "gres": "'gpu:a100:1'"}
    plan = check_plan("gpu", rules, defaults)
    assert plan.rule_checks["predict"] == "gpu-a100" and plan.rule_checks["train"] == "gpu-v100x"
    assert plan.resources["gpu-a100"]["gres"] == "gpu:a100:1"


def test_slurm_profile_checks_its_untyped_gpu_partition():
    plan = check_plan("auto", *profile("slurm"))
    assert set(plan.rule_checks.values()) == {"gpu-any"}
    assert plan.resources["gpu-any"]["gpu"] == 1
    assert plan.resources["gpu-any"]["slurm_partition"] == "gpu"


def test_which_runs_check():
    """cpu: none; auto: only what a profile asks a scheduler for (the demo: none); gpu: all,
    on the default partition where the profile asks for no GPU."""
    rules, defaults = profile("biowulf")
    assert check_plan("cpu", rules, defaults).resources == {}
    local = {rule: {} for rule in GPU_RULES}
    assert check_plan("auto", local, {}).resources == {}
    plan = check_plan("gpu", local, {})
    assert set(plan.rule_checks.values()) == {"default-any"}
    assert plan.resources["default-any"]["gpu"] == 1
    # a profile without a GPU request for the rules: the default partition is where they go
    plan = check_plan("gpu", local, {"slurm_partition": "'norm'"})
    assert plan.resources == {"norm-any": check_resources({}, {"slurm_partition": "'norm'"})}


def test_nvidia_smi_output_is_read():
    query = "0, Tesla V100-SXM2-32GB, 550.54.15, 7.0\n1, Tesla V100-SXM2-32GB, 550.54.15, 7.0\n"
    banner = "| NVIDIA-SMI 550.54.15    Driver Version: 550.54.15    CUDA Version: 12.4     |"
    driver = parse_nvidia_smi(query, banner)
    assert driver.version == "550.54.15" and driver.cuda == "12.4"
    assert driver.gpus[1] == "GPU 1 Tesla V100-SXM2-32GB (compute capability 7.0)"
    assert min_capability(["sm_60", "sm_70", "sm_80", "sm_89", "compute_90"]) == 6.0


def report(step: Step | None, gpus=("Tesla V100 (compute capability 7.0)",), **changes) -> Report:
    tf = Framework("TensorFlow 2.21.0", "built for CUDA 12.5.1, cuDNN 9", gpus, 6.0)
    values = dict(
        host="cn0605",
        given={"CUDA_VISIBLE_DEVICES": "0"},
        context={"CUDA_VISIBLE_DEVICES": "0", "SLURM_JOB_PARTITION": "gpu"},
        driver=Driver("550.54.15", "12.4", ("GPU 0 Tesla V100 (compute capability 7.0)",)),
        frameworks={"tensorflow": tf},
        backend="tensorflow",
        keras_backend="",
        step=step,
    )
    return Report(**{**values, **changes})


def test_verdict_passes_only_a_step_that_ran_on_a_gpu():
    ran = report(Step("tensorflow", "GPU:0", 1.5))
    verdict(ran)
    lines = ran.lines()
    assert len(lines) == 4 and lines[0].startswith("host cn0605: scheduler gave GPUs")
    assert "NVIDIA 550.54.15, CUDA 12.4" in lines[1] and "ran on GPU:0 in 1.5 s" in lines[3]
    with pytest.raises(InputError, match="sees 1 GPU\\(s\\) but the step ran on CPU:0"):
        verdict(report(Step("tensorflow", "CPU:0", 1.0)))


@pytest.mark.parametrize(
    ("case", "expected", "fix"),
    [
        (dict(step=None, gpus=()), "gave this job GPUs (CUDA_VISIBLE_DEVICES=0) but TensorFlow "
         "2.21.0 sees none", 'make setup GPU=1 (pip install -e ".[gpu]"'),
        (dict(step=None, gpus=(), given={}, context={}), "nvidia-smi lists 1 GPU(s) but "
         "TensorFlow 2.21.0 sees none", "with no CUDA or cuDNN module loaded"),
        (dict(step=None, gpus=(), given={}, context={}, driver=None), "no GPU: the scheduler "
         "gave this job none", "sinteractive --gres=gpu:v100x:1"),
        (dict(step=Step("tensorflow", "", 2.0, "no kernel image is available"),
              gpus=("Tesla K80 (compute capability 3.7)",)),
         "the step failed on Tesla K80 (compute capability 3.7): no kernel image",
         "GPU type of compute capability 6.0 or newer"),
        (dict(step=Step("tensorflow", "", 2.0, "DNN library is not found")),
         "the step failed on Tesla V100", "make setup GPU=1"),
    ],
)  # fmt: skip
def test_verdict_names_what_is_missing_and_the_fix_in_one_line(case, expected, fix):
    with pytest.raises(InputError) as info:
        verdict(report(**case))
    message = str(info.value)
    assert message.startswith("cn0605: ") and "\n" not in message
    assert expected in message.split(" (fix: ")[0] and fix in message.split(" (fix: ")[1]


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has a GPU")
def test_check_gpu_on_this_cpu_machine_exits_nonzero_with_one_line(tmp_path, capsys):
    flag = tmp_path / "gpu.txt"
    assert main(["check-gpu", "--out", str(flag)]) == 1
    out, err = capsys.readouterr()
    assert "TensorFlow" in out and "step not run (tensorflow sees no GPU)" in out
    [error] = [line for line in err.splitlines() if "check-gpu: error:" in line]
    assert "no GPU: the scheduler gave this job none" in error and "(fix: " in error
    assert not flag.exists()  # the flag file means: passed
    assert gpu_report({}).step is None


@pytest.mark.slow  # trains one step (a few seconds)
def test_the_step_runs_on_the_cpu_here_and_says_where():
    """The step itself, with TensorFlow on this machine: it runs, and its output is on the CPU
    (so a GPU node's report can tell the two apart)."""
    step = run_step()
    assert step.error == "" and step.device == "CPU:0" and not step.on_gpu
    assert Step("jax", "cuda:0", 1.0).on_gpu and Step("torch", "cuda:0", 1.0).on_gpu
