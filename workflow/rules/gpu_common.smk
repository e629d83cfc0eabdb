# Settings and input functions of the GPU check (workflow/rules/gpu.smk), kept apart from the
# rule as Snakemake's lint asks. Included before the GPU rules, whose inputs call gpu_checked.
import functools

from snakemake_interface_executor_plugins.settings import ExecMode

from seq2chrom.gpu_requests import CHECK_RESOURCES, check_plan

# names of the GPU rules in the order they are defined (each calls gpu_checked in its input)
GPU_RULES = []


def _raw_resources(resources):
    """A Snakemake resource mapping as written in the profile: name -> raw value."""
    return {
        name: getattr(value, "raw", value)
        for name, value in dict(resources or {}).items()
    }


@functools.cache
def gpu_check_plan():
    """The checks this run needs (seq2chrom.gpu_requests.check_plan), read once all rules exist."""
    settings = workflow.resource_settings
    rules = {
        name: _raw_resources(settings.overwrite_resources.get(name))
        for name in GPU_RULES
    }
    device = config["train"].get("device", "auto")
    return check_plan(device, rules, _raw_resources(settings.default_resources))


def gpu_checked(rule_name):
    """Input function that makes the GPU rule `rule_name` wait for its check (no file)."""
    GPU_RULES.append(rule_name)

    def checked(wildcards):
        check = gpu_check_plan().rule_checks.get(rule_name)
        # a job running on a node is past its check (and may not see the same profile)
        if check and workflow.exec_mode == ExecMode.DEFAULT:
            checkpoints.check_gpu.get(check=check)
        return []

    return checked


def gpu_check_flags(wildcards):
    """Flag files of the checks this run needs (targets of rule all)."""
    return [f"results/checks/gpu/{check}.txt" for check in gpu_check_plan().resources]


def check_resource(name):
    """Resource `name` of a check's job: as the first GPU rule that needs the check has it."""
    return (
        lambda wildcards: gpu_check_plan()
        .resources.get(wildcards.check, {})
        .get(name, "")
    )
