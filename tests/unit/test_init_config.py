"""seq2chrom.config_init: the config `seq2chrom init-config` writes, and its one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from seq2chrom.config_init import check_config, fasta_names, new_config, write_config
from seq2chrom.errors import InputError


def files(tmp_path: Path, names=("chr7", "chr8", "chr9"), assays=("TF",)) -> tuple[Path, Path]:
    genome = tmp_path / "genome.fa"
    genome.write_text("".join(f">{name} description\nACGT\n" for name in names))
    sheet = tmp_path / "tracks.tsv"
    rows = [f"T{i}\t{assay}\tK562\tpeaks/T{i}.bed" for i, assay in enumerate(assays)]
    sheet.write_text("name\tassay\tcell_type\tpath\n" + "\n".join(rows) + "\n")
    return genome, sheet


def test_fasta_names_from_headers_or_the_index(tmp_path):
    genome, _ = files(tmp_path, names=("chr1", "7"))
    assert fasta_names(genome) == ["chr1", "7"]
    Path(f"{genome}.fai").write_text("chrA\t4\t6\t4\t5\n")
    assert fasta_names(genome) == ["chrA"]


def test_genome_config_follows_the_fasta_naming_and_passes_the_schema(tmp_path):
    genome, sheet = files(tmp_path, names=("7", "8", "9", "X"))
    config = new_config(genome=genome, tracks=sheet)
    assert config["split"] == {"test": ["8", "9"], "valid": ["7"]}
    assert "chromosomes" not in config["bins"]  # the schema's default keeps them
    assert config["bins"]["select"] == "tf_positive"
    assert list(config)[:2] == ["genome", "tracks"]
    check_config(config)


def test_a_sheet_without_tf_tracks_selects_any_positive_bin(tmp_path):
    genome, sheet = files(tmp_path, assays=("DNase", "Histone"))
    assert new_config(genome=genome, tracks=sheet)["bins"]["select"] == "any_positive"


def test_bundle_config_has_neither_genome_nor_tracks(tmp_path):
    for name in ("train.mat", "valid.mat", "test.mat"):
        (tmp_path / name).write_bytes(b"")
    config = new_config(bundle=tmp_path)
    assert "genome" not in config and "tracks" not in config
    assert config["data"] == {"source": "deepsea_bundle", "bundle_dir": str(tmp_path)}
    check_config(config)


@pytest.mark.parametrize(
    "case, match",
    [
        ("no chromosome 8", r"no chromosome 8 \(chr-prefixed or not\)"),
        ("bad assay", r"tracks.tsv:2: .*'ChIP'"),
        ("bundle without test.mat", r"no test.mat \(fix: unpack the bundle there\)"),
        ("nothing given", r"give --genome and --tracks, or --bundle"),
    ],
)
def test_errors_are_one_line_naming_file_and_fix(tmp_path, case, match):
    genome, sheet = files(
        tmp_path, names=("chr7", "chr9") if "8" in case else ("chr7", "chr8", "chr9")
    )
    if case == "bad assay":
        sheet.write_text("name\tassay\tcell_type\tpath\nT0\tChIP\tK562\tx.bed\n")
    with pytest.raises(InputError, match=match) as error:
        if case.startswith("bundle"):
            (tmp_path / "train.mat").write_bytes(b"")
            (tmp_path / "valid.mat").write_bytes(b"")
            new_config(bundle=tmp_path)
        elif case == "nothing given":
            new_config()
        else:
            new_config(genome=genome, tracks=sheet)
    assert "\n" not in str(error.value)


def test_write_checks_then_refuses_to_replace_without_force(tmp_path):
    genome, sheet = files(tmp_path)
    out = tmp_path / "config" / "config.yaml"
    config = new_config(genome=genome, tracks=sheet)
    write_config(config, out)
    assert yaml.safe_load(out.read_text()) == config
    with pytest.raises(InputError, match="add --force"):
        write_config(config, out)
    write_config(config, out, force=True)
    with pytest.raises(InputError, match=r"bins.size: 'big' is not of type 'integer'"):
        write_config({**config, "bins": {**config["bins"], "size": "big"}}, out, force=True)


def test_own_split_chromosomes_and_small_models(tmp_path):
    genome, sheet = files(tmp_path, names=("2L", "2R", "3L", "X"))
    config = new_config(genome=genome, tracks=sheet, test=["X"], valid=["3L"], preset="small")
    assert config["split"] == {"test": ["X"], "valid": ["3L"]}
    assert config["bins"]["chromosomes"] == ".+"  # the default keeps 1..22, X, Y only: not 3L
    assert config["models"] == {"deepsea": {"preset": "small"}, "danq": {"preset": "small"}}
    check_config(config)


@pytest.mark.parametrize(
    "test, valid, match",
    [
        (None, None, r"for DeepSEA's test split \(fix: choose your own with --test and --valid"),
        (["chrZ"], ["2L"], r"no chromosome chrZ \(--test\)"),
        (["X"], ["X"], r"both a test and a validation chromosome"),
    ],
)
def test_split_errors_name_the_chromosome_and_the_option(tmp_path, test, valid, match):
    genome, sheet = files(tmp_path, names=("2L", "2R", "3L", "X"))
    with pytest.raises(InputError, match=match):
        new_config(genome=genome, tracks=sheet, test=test, valid=valid)
