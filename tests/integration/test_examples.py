"""config/examples/ and `seq2chrom init-config`: every example is valid and builds its DAG offline.

A dry run of each example runs in a folder with placeholder inputs: a tiny FASTA where the
genome goes, empty bundle files, and, for URL tracks, the cached downloads
(resources/tracks/{track}.peaks) with `fetch_track` left out of the rules Snakemake may use, so
that its HTTP storage plugin asks no server. HTTP(S)_PROXY points at a local socket that counts
connections: the test fails if any request was made.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml
from seq2chrom.config_init import check_config

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLES = REPO / "config" / "examples"
STANDALONE = ["deepsea_hg19.yaml", "deepsea_bundle.yaml"]
PLACEHOLDER_FASTA = "".join(f">chr{n}\n{'ACGT' * 10}\n" for n in (*range(1, 23), "X", "Y"))


def merged(base: dict, overlay: dict) -> dict:
    """`overlay` over `base` as Snakemake merges --configfile files (nested keys merge)."""
    out = dict(base)
    for key, value in overlay.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = merged(base[key], value) if both else value
    return out


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda path: path.stem)
def test_every_example_passes_the_schema(path):
    """Standalone examples as they are; overlays (no `models`) over config/config.yaml."""
    example = yaml.safe_load(path.read_text())
    if "models" not in example:
        example = merged(yaml.safe_load((REPO / "config" / "config.yaml").read_text()), example)
    check_config(example, path)


def test_the_bundle_example_names_neither_genome_nor_tracks():
    example = yaml.safe_load((EXAMPLES / "deepsea_bundle.yaml").read_text())
    assert "genome" not in example and "tracks" not in example
    without_bundle = dict(example, data={"source": "genome"})
    with pytest.raises(Exception, match="genome"):  # the genome route still needs both
        check_config(without_bundle)


def test_the_hg19_sheet_has_real_urls_and_a_cited_source():
    sheet = pd.read_csv(EXAMPLES / "deepsea_hg19_tracks.tsv", sep="\t", dtype=str).fillna("")
    assert len(sheet) >= 10 and sheet["name"].is_unique
    host = "http://hgdownload.cse.ucsc.edu/goldenPath/hg19/encodeDCC/wgEncodeAwgTfbsUniform/"
    assert all(url.startswith(host) and url.endswith(".narrowPeak.gz") for url in sheet["path"])
    # md5s are left empty: none could be checked against UCSC's md5sum.txt offline
    assert set(sheet["md5"]) == {""}
    assert all("github.com/" in source for source in sheet["source"])
    example = yaml.safe_load((EXAMPLES / "deepsea_hg19.yaml").read_text())
    assert example["split"] == {"test": ["chr8", "chr9"], "valid": ["chr7:30,508,751-35,296,850"]}
    assert {settings["preset"] for settings in example["models"].values()} == {"full"}


@pytest.mark.parametrize("name", STANDALONE)
def test_published_setups_train_each_model_on_its_own_schedule(name):
    """DanQ_train.py: batch 100, nb_epoch=60, Keras 0.2's EarlyStopping(patience=5);
    DanQ-JASPAR_train.py: nb_epoch=32, patience=100 (never stops early); DeepSEA's run.sh and
    4_train.lua: batch 16, no epoch limit, 301 validations of 110,000 samples without a lower
    loss (7.5 passes of its 4.4 million samples: 8 here)."""
    from seq2chrom.config import defaults, model_train

    example = yaml.safe_load((EXAMPLES / name).read_text())
    assert list(example["models"]) == ["deepsea", "danq", "danq_jaspar"]
    schedule = {}
    for model in example["models"]:
        settings = {**defaults("train"), **model_train(example, model)}
        keys = ("batch_size", "epochs", "patience", "patience_rule")
        schedule[model] = tuple(settings[key] for key in keys)
    assert schedule == {
        "deepsea": (16, 60, 8, "keras3"),
        "danq": (100, 60, 5, "keras0.2"),
        "danq_jaspar": (100, 32, 100, "keras0.2"),
    }


def test_the_hg19_example_tiles_the_autosomes_only():
    """DeepSEA's paper: chr8 and chr9 held out, "the rest of the autosomes were used for training
    and validation": no chrX, chrY, chrM or unplaced contigs."""
    from seq2chrom.data.bins import selected_sequences

    pattern = yaml.safe_load((EXAMPLES / "deepsea_hg19.yaml").read_text())["bins"]["chromosomes"]
    autosomes = [f"chr{n}" for n in range(1, 23)]
    others = ["chrX", "chrY", "chrM", "chr23", "chr1_gl000191_random", "chrUn_gl000220", "chr0"]
    assert all(selected_sequences(autosomes, pattern))
    assert not any(selected_sequences(others, pattern))


class ConnectionCounter:
    """A local socket standing in for every proxy: it counts (and drops) connections."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.count = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.count += 1
            connection.close()

    def close(self):
        self.server.close()


def dry_run(workdir: Path, configfile: str) -> Counter:
    """`snakemake -n` with `configfile` in `workdir`, offline; job counts per rule."""
    counter = ConnectionCounter()
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env[name] = counter.url
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    command = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "--configfile", configfile]
    rules = subprocess.run(
        [*command, "--list-rules"], cwd=workdir, env=env, capture_output=True, text=True
    )
    assert rules.returncode == 0, rules.stderr[-3000:]
    allowed = [rule for rule in rules.stdout.split() if rule != "fetch_track"]
    run = subprocess.run(
        [*command, "-n", "--cores", "1", "--allowed-rules", *allowed],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    counter.close()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert counter.count == 0, f"{counter.count} requests to a server during the dry run"
    table = run.stdout.split("Job stats:")[1].split("total")[0]
    return Counter({m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)})


def project(tmp_path: Path, config: str) -> Path:
    """A project folder with config/examples/ and placeholders for what `config` names."""
    workdir = tmp_path / "project"
    shutil.copytree(EXAMPLES, workdir / "config" / "examples")
    example = yaml.safe_load((workdir / "config" / "examples" / config).read_text())
    if "genome" in example:
        (workdir / example["genome"]).parent.mkdir(parents=True, exist_ok=True)
        (workdir / example["genome"]).write_text(PLACEHOLDER_FASTA)
    if example["bins"].get("blacklist"):
        (workdir / example["bins"]["blacklist"]).write_text("chr1\t0\t10\n")
    if "tracks" in example:
        sheet = pd.read_csv(workdir / example["tracks"], sep="\t", dtype=str)
        (workdir / "resources" / "tracks").mkdir(parents=True)
        for name in sheet["name"]:  # the downloads, as fetch_track caches them
            (workdir / "resources" / "tracks" / f"{name}.peaks").write_text("chr1\t0\t10\n")
            (workdir / "resources" / "tracks" / f"{name}.json").write_text("{}\n")
    if example["data"]["source"] == "deepsea_bundle":
        bundle = workdir / example["data"]["bundle_dir"]
        bundle.mkdir(parents=True)
        for name in ("train.mat", "valid.mat", "test.mat"):
            (bundle / name).write_bytes(b"")
    return workdir


def test_the_hg19_example_builds_its_dag_offline(tmp_path):
    workdir = project(tmp_path, "deepsea_hg19.yaml")
    jobs = dry_run(workdir, "config/examples/deepsea_hg19.yaml")
    assert jobs["label"] == 11 and jobs["encode"] == 3 and jobs["genome"] == 1
    assert jobs["train"] == 3 and jobs["evaluate"] == 3  # deepsea, danq, danq_jaspar, full
    assert "demo" not in jobs and "import_bundle" not in jobs


def test_the_bundle_example_builds_its_dag_offline(tmp_path):
    workdir = project(tmp_path, "deepsea_bundle.yaml")
    jobs = dry_run(workdir, "config/examples/deepsea_bundle.yaml")
    assert jobs["import_bundle"] == 3 and jobs["train"] == 3  # one import per split
    assert jobs["published_comparison"] == 3
    assert not {"genome", "tile", "label", "demo"} & set(jobs)


def test_init_config_writes_a_config_that_builds_its_dag(tmp_path):
    """`seq2chrom init-config` on a FASTA named without `chr` and a sheet of local peak files:
    the split follows the FASTA's names and the written config runs."""
    workdir = tmp_path / "mine"
    (workdir / "peaks").mkdir(parents=True)
    (workdir / "genome.fa").write_text(PLACEHOLDER_FASTA.replace(">chr", ">"))
    rows = ["name\tassay\tcell_type\tpath"]
    for name, assay in (("CTCF_A", "TF"), ("DNase_A", "DNase")):
        (workdir / "peaks" / f"{name}.bed").write_text("1\t0\t10\n")
        rows.append(f"{name}\t{assay}\tA\tpeaks/{name}.bed")
    (workdir / "tracks.tsv").write_text("\n".join(rows) + "\n")
    command = [str(BIN / "seq2chrom"), "init-config", "--genome", "genome.fa"]
    command += ["--tracks", "tracks.tsv", "--out", "config/config.yaml"]
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # the command it prints runs seq2chrom's Snakefile from this folder (not the repository)
    assert (
        f"run: snakemake -s {REPO.resolve() / 'Snakefile'} --configfile config/config.yaml"
        in done.stdout
    )
    written = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    assert written["split"] == {"test": ["8", "9"], "valid": ["7"]}
    jobs = dry_run(workdir, "config/config.yaml")
    assert jobs["label"] == 2 and jobs["train"] == 2
