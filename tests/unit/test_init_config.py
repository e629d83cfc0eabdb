"""seq2chrom.config_init: the config `seq2chrom init-config` writes, and its one-line errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import yaml
from seq2chrom.cli import main
from seq2chrom.config_init import check_config, fasta_names, new_config, write_config
from seq2chrom.errors import InputError


@pytest.fixture(autouse=True)
def run_directory(tmp_path, monkeypatch):
    """Each test runs in its tmp_path, as users run init-config in their project folder:
    the sheet's relative paths are relative to it."""
    monkeypatch.chdir(tmp_path)


def files(tmp_path: Path, names=("chr7", "chr8", "chr9"), assays=("TF",)) -> tuple[Path, Path]:
    genome = tmp_path / "genome.fa"
    genome.write_text("".join(f">{name} description\nACGT\n" for name in names))
    sheet = tmp_path / "tracks.tsv"
    (tmp_path / "peaks").mkdir(exist_ok=True)
    for i in range(len(assays)):
        (tmp_path / "peaks" / f"T{i}.bed").write_text("chr7\t0\t2\n")
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


def test_a_repeated_sequence_name_stops_at_its_second_header(tmp_path):
    genome, sheet = files(tmp_path)
    genome.write_text(">chr7\nACGT\nACGT\n>chr8 first\nACGT\n>chr9\nAC\n>chr8 again\nACGT\n")
    with pytest.raises(InputError) as error:
        new_config(genome=genome, tracks=sheet)
    assert str(error.value) == (
        f"{genome}:8: duplicate sequence name 'chr8' (first at line 4) "
        "(fix: give every sequence a unique name)"
    )


def test_a_repeated_name_in_the_index_names_the_index_line(tmp_path):
    genome, _ = files(tmp_path)
    index = Path(f"{genome}.fai")
    index.write_text("chr7\t4\t6\t4\t5\nchr8\t4\t17\t4\t5\nchr7\t4\t28\t4\t5\n")
    with pytest.raises(InputError, match=rf"^{index}:3: duplicate sequence name 'chr7' \(first "):
        fasta_names(genome)


def test_a_gzipped_fasta_is_read_for_its_names_too(tmp_path):
    genome = tmp_path / "genome.fa.gz"
    genome.write_bytes(gzip.compress(b">chr1\nAC\n>\nGT\n"))
    with pytest.raises(InputError, match=rf"^{genome}:3: sequence without a name"):
        fasta_names(genome)


@pytest.mark.parametrize(
    "path, fix",
    [
        ("peaks/none.bed", "correct the path column of the track sheet"),
        # the sheet in a folder of its own, its paths written relative to that folder
        ("T0.bed", "paths are relative to the run directory, not to the sheet: give sheets/T0.bed"),
    ],
)
def test_a_missing_peak_file_names_the_sheet_line_and_column(tmp_path, path, fix):
    genome, _ = files(tmp_path)
    (tmp_path / "sheets").mkdir()
    (tmp_path / "sheets" / "T0.bed").write_text("chr7\t0\t2\n")
    sheet = Path("sheets/tracks.tsv")  # as given on the command line, in the run directory
    sheet.write_text(
        f"name\tassay\tcell_type\tpath\nT0\tTF\tK562\tpeaks/T0.bed\nT1\tDNase\tK562\t{path}\n"
    )
    with pytest.raises(InputError) as error:
        new_config(genome=genome, tracks=sheet)
    assert str(error.value) == (
        f"{sheet}:3: column path: peak file {path!r} of track 'T1' not found (fix: {fix})"
    )


def test_url_paths_are_not_looked_for_but_must_be_http(tmp_path):
    genome, sheet = files(tmp_path)
    url = "https://www.encodeproject.org/files/ENCFF1/@@download/ENCFF1.bed.gz"
    sheet.write_text(f"name\tassay\tcell_type\tpath\nT0\tTF\tK562\t{url}\n")
    assert new_config(genome=genome, tracks=sheet)["tracks"] == str(sheet)
    sheet.write_text("name\tassay\tcell_type\tpath\nT0\tTF\tK562\tftp://host/a.bed\n")
    with pytest.raises(InputError, match=rf"^{sheet}:2: column path: unsupported URL 'ftp://"):
        new_config(genome=genome, tracks=sheet)


@pytest.mark.parametrize("broken", ["duplicate name", "missing peak file", "test is valid"])
def test_a_failed_init_config_leaves_the_earlier_config_even_with_force(tmp_path, capsys, broken):
    genome, sheet = files(tmp_path)
    out = tmp_path / "config" / "config.yaml"
    out.parent.mkdir()
    out.write_text("# my edited config\n")
    if broken == "duplicate name":
        genome.write_text(">chr7\nA\n>chr8\nA\n>chr9\nA\n>chr7\nA\n")
    elif broken == "missing peak file":
        (tmp_path / "peaks" / "T0.bed").unlink()
    argv = ["init-config", "--genome", str(genome), "--tracks", str(sheet), "--out", str(out)]
    if broken == "test is valid":
        argv += ["--test", "chr8", "--valid", "chr8"]
    assert main([*argv, "--force"]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("seq2chrom init-config: error: ")
    assert out.read_text() == "# my edited config\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["config.yaml"]  # no temporary


def test_init_config_replaces_with_force_only(tmp_path, capsys):
    genome, sheet = files(tmp_path)
    out = tmp_path / "config.yaml"
    out.write_text("# mine\n")
    argv = ["init-config", "--genome", str(genome), "--tracks", str(sheet), "--out", str(out)]
    assert main(argv) == 1
    assert "exists (fix: add --force" in capsys.readouterr().err
    assert out.read_text() == "# mine\n"
    assert main([*argv, "--force"]) == 0
    assert yaml.safe_load(out.read_text()) == new_config(genome=genome, tracks=sheet)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_windows_are_estimated_from_the_selected_tracks_peaks(tmp_path):
    from seq2chrom.config_init import estimate_windows

    (tmp_path / "tf.bed").write_text("chr7\t0\t500\nchr8\t1000\t1099\nchr8\t2000\t2101\n")
    (tmp_path / "dnase.bed").write_text("chr7\t0\t2000\n")
    rows = [
        {"name": "T", "assay": "TF", "path": str(tmp_path / "tf.bed")},
        {"name": "D", "assay": "DNase", "path": str(tmp_path / "dnase.bed")},
        {"name": "U", "assay": "TF", "path": "https://example.org/u.bed"},
    ]
    # bins covered by more than half: 500 bp -> 2 (plus a half bin, counted), 99 -> 0, 101 -> 1
    assert estimate_windows(rows, "tf_positive") == 3 + 0 + 1
    assert estimate_windows(rows, "any_positive") == 4 + 10
    assert estimate_windows(rows[2:], "tf_positive") is None


def test_auto_preset_is_small_for_a_few_thousand_windows_and_says_why(tmp_path, capsys):
    genome, sheet = files(tmp_path, assays=("TF", "TF"))
    peaks = "".join(f"chr7\t{i * 1000}\t{i * 1000 + 200}\n" for i in range(4000))
    for name in ("T0", "T1"):
        (tmp_path / "peaks" / f"{name}.bed").write_text(peaks)
    out = tmp_path / "config.yaml"
    assert (
        main(["init-config", "--genome", str(genome), "--tracks", str(sheet), "--out", str(out)])
        == 0
    )
    config = yaml.safe_load(out.read_text())
    assert config["models"] == {"deepsea": {"preset": "small"}, "danq": {"preset": "small"}}
    assert "learning_rate" not in config["train"]  # each model's validated rate
    comments = [line for line in out.read_text().splitlines() if line.startswith("#")]
    assert comments[2].startswith("# models: preset small: the peaks cover about 8,000 bins")
    assert "about 8,000 bins" in capsys.readouterr().out


def test_auto_preset_is_full_at_deepsea_scale_and_for_a_bundle(tmp_path, monkeypatch):
    import seq2chrom.config_init as config_init

    genome, sheet = files(tmp_path)
    (tmp_path / "peaks" / "T0.bed").write_text("chr7\t0\t2000\n")  # 10 bins
    monkeypatch.setattr(config_init, "SMALL_WINDOWS", 10)
    draft = config_init.draft_config(genome=genome, tracks=sheet)
    assert draft.config["models"]["danq"] == {"preset": "full"}
    assert draft.notes[0].startswith(
        "models: preset full (the published sizes): the peaks cover 10"
    )
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for name in ("train.mat", "valid.mat", "test.mat"):
        (bundle / name).write_bytes(b"")
    assert config_init.new_config(bundle=bundle)["models"]["deepsea"] == {"preset": "full"}


def test_choosing_the_preset_starts_no_framework():
    """init-config answers in a second: resolving the presets' rates imports no Keras."""
    import subprocess
    import sys

    code = (
        "import sys; from seq2chrom.config_init import choose_preset; choose_preset(5000); "
        "sys.exit('keras' in sys.modules or 'tensorflow' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
