"""envs/*.yaml for `--sdm conda`, checked offline (no conda server is reachable here).

Snakemake copies an env file to .snakemake/conda/<hash>.yaml and conda runs pip from that folder
on a requirements file it writes there, so relative paths in the `pip:` part resolve from the
copy, not from envs/. The tests rebuild that layout and let the real pip resolve the package
path, then check that each env lists every package its rules import (a solve is not run).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

import pytest
import yaml
from seq2chrom.cli import COMMANDS

REPO = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = REPO / "workflow"
ENVS = sorted((REPO / "envs").glob("*.yaml"))
BIN = Path(sys.executable).parent
PACKAGE_LINE = "-e ${SEQ2CHROM_ROOT}"
# import name -> package name where they differ (conda-forge/bioconda and PyPI agree here)
PACKAGE_OF = {"yaml": "pyyaml", "matplotlib": "matplotlib-base", "Bio": "biopython"}
PACKAGE_OF |= {"sklearn": "scikit-learn", "pyBigWig": "pybigwig"}
PACKAGE_OF |= {"modiscolite": "modisco-lite"}
# PyPI distribution -> its conda-forge package where the names differ
CONDA_NAME = {"igraph": "python-igraph"}
# Keras backends the code can query besides TensorFlow; the envs ship TensorFlow.
OTHER_BACKENDS = {"jax", "torch"}


def env_packages(env: dict) -> tuple[set[str], list[str]]:
    """Package names an env lists (conda and pip), and its raw pip lines."""
    names, pip = set(), []
    for item in env["dependencies"]:
        if isinstance(item, dict):
            pip = item["pip"]
            names |= {re.split(r"[ <>=!\[]", line, maxsplit=1)[0] for line in pip}
        else:
            names.add(re.split(r"[ <>=!\[]", item, maxsplit=1)[0])
    return names, pip


def rules_with_envs() -> dict[str, tuple[str, list[str]]]:
    """rule -> (env file name, seq2chrom subcommands in its shell command), from workflow/rules."""
    rules = {}
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        blocks = re.split(r"^\s*rule (\w+):", path.read_text(), flags=re.M)
        for name, block in zip(blocks[1::2], blocks[2::2], strict=True):
            env = re.search(r"conda:\s*\n\s*\"([^\"]+)\"", block)
            commands = re.findall(r"seq2chrom ([a-z][a-z-]*)", block)
            if env and commands:
                rules[name] = (Path(env.group(1)).name, commands)
    return rules


def _module_path(module: str) -> Path | None:
    base = PACKAGE_ROOT / module.replace(".", "/")
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _guarded(node: ast.AST, parents: dict) -> bool:
    """An import inside `try: ... except ImportError` is optional."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Try) and any(
            "ImportError" in ast.unparse(handler.type or ast.Name("BaseException"))
            for handler in node.handlers
        ):
            return True
    return False


def third_party_imports(module: str, seen: set[str] | None = None) -> set[str]:
    """Top-level non-stdlib names `module` imports, following seq2chrom modules (function-level
    imports too: handlers import lazily). An over-estimate per CLI module, never an under one."""
    seen = set() if seen is None else seen
    path = _module_path(module)
    if module in seen or path is None:
        return set()
    seen.add(module)
    parts = module.split(".")
    found = set()
    for depth in range(1, len(parts)):  # importing a.b.c runs a and a.b first
        found |= third_party_imports(".".join(parts[:depth]), seen)
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            package = parts if path.name == "__init__.py" else parts[:-1]
            base = package[: len(package) - node.level + 1] if node.level else []
            stem = ".".join(base + ([node.module] if node.module else []))
            names = [stem] + [f"{stem}.{alias.name}" for alias in node.names]
        else:
            continue
        if _guarded(node, parents):
            continue
        for name in names:
            if name.split(".")[0] == "seq2chrom":
                found |= third_party_imports(name, seen)
            elif name.split(".")[0] not in sys.stdlib_module_names:
                found.add(name.split(".")[0])
    return found


def needed_packages(commands: list[str]) -> set[str]:
    """Package names the CLI modules behind `commands` import; Keras needs its TensorFlow."""
    imports = set()
    for command in commands:
        imports |= third_party_imports(COMMANDS[command])
    imports -= OTHER_BACKENDS
    if "keras" in imports:
        imports.add("tensorflow")
    return {PACKAGE_OF.get(name, name) for name in imports}


@pytest.mark.parametrize("path", ENVS, ids=[path.stem for path in ENVS])
def test_every_env_parses_and_installs_seq2chrom_by_the_variable(path):
    env = yaml.safe_load(path.read_text())
    assert env["channels"][0] == "conda-forge"
    names, pip = env_packages(env)
    assert "python" in names
    if path.stem != "python":  # envs/python.yaml is only a Python for `make`
        assert pip[-1] == PACKAGE_LINE, pip


def test_the_import_analysis_sees_what_a_step_needs():
    """The analysis the env check relies on: labels need pyfaidx, not TensorFlow; training
    needs TensorFlow; the optional JAX/PyTorch device queries are not required."""
    assert {"numpy", "pyfaidx", "h5py"} <= needed_packages(["label"])
    assert not {"tensorflow", "keras"} & needed_packages(["label"])
    assert {"tensorflow", "keras", "h5py"} <= needed_packages(["train"])
    assert not OTHER_BACKENDS & needed_packages(["train"])


def test_every_rule_env_lists_what_the_rule_imports():
    rules = rules_with_envs()
    assert {"label", "train", "evaluate", "motif_pwms", "demo", "config_html"} <= set(rules)
    missing = {}
    for rule, (env_name, commands) in rules.items():
        listed, _ = env_packages(yaml.safe_load((REPO / "envs" / env_name).read_text()))
        lacking = needed_packages(commands) - listed
        if lacking:
            missing[rule] = (env_name, sorted(lacking))
    assert not missing, f"rule -> (env, packages its code imports that the env lacks): {missing}"


@pytest.mark.parametrize("path", ENVS, ids=[path.stem for path in ENVS])
def test_pip_packages_have_their_own_dependencies_listed(path):
    """Snakemake sets PIP_NO_DEPS, so a pip package's requirements must be in the env (read
    from the package's metadata in this venv)."""
    listed, pip = env_packages(yaml.safe_load(path.read_text()))
    for line in pip:
        if line == PACKAGE_LINE:
            continue
        name = re.split(r"[ <>=!\[]", line, maxsplit=1)[0]
        needed = {
            CONDA_NAME.get(dist, dist)
            for dist in (
                re.split(r"[ <>=!\[;]", requirement, maxsplit=1)[0].lower()
                for requirement in requires(name) or []
                if "extra ==" not in requirement
            )
        }
        assert needed <= listed, f"{path.name}: {name} needs {sorted(needed - listed)}"


def _pip_from_snakemakes_copy(
    env_file: Path, workdir: Path, root: str
) -> subprocess.CompletedProcess:
    """What `conda env create` does with Snakemake's copy: the pip lines go to a requirements
    file beside .snakemake/conda/<hash>.yaml and pip runs there. A dry run, offline."""
    conda_dir = workdir / ".snakemake" / "conda"
    conda_dir.mkdir(parents=True, exist_ok=True)
    copy = conda_dir / "0123abcd.yaml"
    shutil.copy2(env_file, copy)
    _, pip = env_packages(yaml.safe_load(copy.read_text()))
    requirements = conda_dir / "condaenv.test.requirements.txt"
    requirements.write_text("\n".join(pip) + "\n")
    command = [str(BIN / "python"), "-m", "pip", "install", "--dry-run", "--no-index"]
    command += ["--no-deps", "--no-build-isolation", "--quiet", "--report", "-"]
    return subprocess.run(
        [*command, "-r", requirements.name],
        cwd=conda_dir,
        env=dict(os.environ, SEQ2CHROM_ROOT=root, PIP_NO_DEPS="1"),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_pip_installs_this_folder_from_snakemakes_copy_location(tmp_path):
    run = _pip_from_snakemakes_copy(REPO / "envs" / "data.yaml", tmp_path, str(REPO))
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    [item] = report["install"]
    assert item["metadata"]["name"] == "seq2chrom"
    assert item["download_info"]["url"] == REPO.as_uri()
    assert item["download_info"]["dir_info"] == {"editable": True}


def test_a_relative_path_would_resolve_inside_snakemake_conda(tmp_path):
    """Why the variable: the old `-e ..` points at .snakemake/, which is no project."""
    old = tmp_path / "old.yaml"
    old.write_text((REPO / "envs" / "data.yaml").read_text().replace(PACKAGE_LINE, "-e .."))
    run = _pip_from_snakemakes_copy(old, tmp_path / "work", str(REPO))
    assert run.returncode != 0
    assert str(tmp_path / "work" / ".snakemake") in run.stderr


def test_the_workflow_sets_the_variable_for_conda(tmp_path):
    """A real Snakemake run of the workflow (demo config) sees SEQ2CHROM_ROOT = this folder,
    the value conda's pip reads when Snakemake creates the envs."""
    shutil.copytree(REPO / "config", tmp_path / "config", ignore=shutil.ignore_patterns("*.md"))
    (tmp_path / "Snakefile").write_text(
        f'workflow.include("{REPO / "workflow" / "Snakefile"}")\n\n\n'
        'rule probe:\n    output:\n        "root.txt",\n'
        '    shell:\n        "echo $SEQ2CHROM_ROOT > {output}"\n'
    )
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    env.pop("SEQ2CHROM_ROOT", None)
    run = subprocess.run(
        [str(BIN / "snakemake"), "--cores", "1", "root.txt"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "root.txt").read_text().strip() == str(REPO)


def test_gpu_rules_envs_ask_for_tensorflows_cuda_build():
    """Snakemake builds the envs on the controller, a CPU node, where conda's solver picks the
    CPU build of `tensorflow` unless the spec names the CUDA build (`cuda*`, conda-forge's
    build strings cuda<version>py<python>...) and a CUDA 12 `cuda-version`."""
    blocks = re.split(r"^\s*(?:rule|use rule \w+ as) (\w+)", "".join(
        path.read_text() for path in sorted((REPO / "workflow" / "rules").glob("*.smk"))
    ), flags=re.M)  # fmt: skip
    gpu_envs = {
        Path(env).name
        for block in blocks[2::2]
        if re.search(r"^\s+gpu=1,$", block, flags=re.M)
        for env in re.findall(r"conda:\s*\n\s*\"([^\"]+)\"", block)
    }
    assert {"train.yaml", "motifs.yaml", "variants.yaml"} <= gpu_envs
    for name in gpu_envs:
        specs = yaml.safe_load((REPO / "envs" / name).read_text())["dependencies"]
        [tensorflow] = [s for s in specs if isinstance(s, str) and s.startswith("tensorflow ")]
        assert re.fullmatch(r"tensorflow >=2\.1[6-9] cuda\*", tensorflow), (name, tensorflow)
        assert "cuda-version >=12,<13" in specs, name


@pytest.mark.slow  # starts Snakemake
def test_with_conda_the_workflow_lets_the_solve_see_cuda_12(tmp_path):
    """Under `--sdm conda`, CONDA_OVERRIDE_CUDA, which conda reads as the machine's CUDA (its
    __cuda), is 12 (the CUDA builds above need it) unless the user set it."""
    shutil.copytree(REPO / "config", tmp_path / "config", ignore=shutil.ignore_patterns("*.md"))
    (tmp_path / "Snakefile").write_text(
        f'workflow.include("{REPO / "workflow" / "Snakefile"}")\n'
        'print("CONDA_OVERRIDE_CUDA=" + os.environ.get("CONDA_OVERRIDE_CUDA", "unset"))\n'
    )
    run = subprocess.run(
        [str(BIN / "snakemake"), "--cores", "1", "--list-rules", "--sdm", "conda"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "CONDA_OVERRIDE_CUDA"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert re.findall(r"^CONDA_OVERRIDE_CUDA=(.*)$", run.stdout, flags=re.M) == ["12"]
