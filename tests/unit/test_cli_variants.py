"""`seq2chrom score-variants`, `predict-region`, `mutagenesis`, `variant-report` and
`report-summary` on a tiny genome with toy models saved like trained ones."""

from __future__ import annotations

import gzip
import logging

import h5py
import numpy as np
import pandas as pd
import pyBigWig
import pytest
import yaml
from seq2chrom.cli import main

from tests.unit.toy_models import composition_model, motif_model, random_model

WINDOW = 40


@pytest.fixture()
def genome(tmp_path):
    sequence = "C" * 60 + "GATA" + "G" * 56  # chr1: 120 bp
    path = tmp_path / "genome.fa"
    path.write_text(f">chr1\n{sequence}\n>chr2\n{'A' * 80}\n")
    return path


def save(model, folder, tracks):
    folder.mkdir()
    model.save(folder / "model.keras")
    (folder / "config.yaml").write_text(yaml.safe_dump({"tracks": tracks}))
    return folder / "model.keras"


def test_score_variants_writes_effects_summary_and_skipped(tmp_path, genome, caplog):
    caplog.set_level(logging.INFO)
    model = save(composition_model(WINDOW), tmp_path / "m", ["AT", "GC"])
    sheet = tmp_path / "tracks.tsv"
    sheet.write_text("name\tassay\nAT\tTF\nGC\tDNase\n")
    vcf = tmp_path / "in.vcf.gz"
    vcf.write_bytes(
        gzip.compress(
            b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n"
            b"1\t10\t.\tC\tA,T\n"  # multi-allelic, VCF without 'chr'
            b"1\t20\tbad_ref\tA\tG\n"
            b"1\t200\tpast\tC\tA\n"
            b"1\t30\tsv\tC\t<DEL>\n"
            b"2\t5\tdel\tAA\tA\n"
        )
    )
    out = tmp_path / "out" / "demo.h5"
    argv = ["score-variants", "--model", str(model), "--genome", str(genome), "--vcf", str(vcf)]
    assert main([*argv, "--out", str(out), "--track-sheet", str(sheet), "--device", "cpu"]) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "demo.h5", "demo.skipped.tsv", "demo.top.tsv", "demo.tsv.gz", "demo.vcf.gz",
        "demo.vcf.gz.tbi",
    ]  # fmt: skip
    effects = pd.read_csv(out.with_name("demo.tsv.gz"), sep="\t", dtype={"chrom": str})
    assert list(effects.columns) == [
        "variant_id", "chrom", "pos", "ref", "alt", "track", "ref_prob", "alt_prob", "diff",
        "logfc",
    ]  # fmt: skip
    assert effects["variant_id"].tolist() == ["1:10:C:A"] * 2 + ["1:10:C:T"] * 2 + ["del"] * 2
    assert effects["chrom"].tolist()[:2] == ["1", "1"]  # the VCF's names are kept
    np.testing.assert_allclose(effects["diff"][:4], [0.025, -0.025, 0.025, -0.025], atol=1e-6)
    np.testing.assert_allclose(effects["diff"][4:], [0, 0], atol=1e-6)  # deletion in poly-A
    first = gzip.decompress(out.with_name("demo.tsv.gz").read_bytes()).decode()
    first = first.splitlines()[1].split("\t")
    # window of 1:10 = 11 N + 29 C: AT 0 -> 1/40 with the A; numbers as %.7g
    assert first[:9] == ["1:10:C:A", "1", "10", "C", "A", "AT", "0", "0.025", "0.025"]
    top = pd.read_csv(tmp_path / "out" / "demo.top.tsv", sep="\t")
    assert list(top.columns[5:]) == [
        "top_track", "top_diff", "max_abs_diff", "mean_abs_diff_TF", "mean_abs_diff_DNase",
        "strongest",
    ]  # fmt: skip
    assert top["strongest"].tolist()[0] == "GC:-0.025|AT:0.025"
    assert top["variant_id"].tolist()[-1] == "del"  # strongest first
    skipped = pd.read_csv(tmp_path / "out" / "demo.skipped.tsv", sep="\t")
    assert skipped["variant_id"].tolist() == ["bad_ref", "past", "sv"]
    assert skipped["reason"].tolist() == [
        "REF does not match the genome",
        "past the end of the chromosome",
        "symbolic allele",
    ]
    renamed = [r for r in caplog.messages if "names 2 chromosome(s) differently" in r]
    assert len(renamed) == 1 and "1 -> chr1" in renamed[0]

    report = ["variant-report", "--top", str(tmp_path / "out" / "demo.top.tsv"), "--title", "t"]
    html, png = tmp_path / "top.html", tmp_path / "top.png"
    assert main([*report, "--out-html", str(html), "--out-png", str(png)]) == 0
    assert "<td>del</td>" in html.read_text() and png.read_bytes()[:4] == b"\x89PNG"


def test_malformed_vcf_stops_with_one_line(tmp_path, genome, capsys):
    model = save(composition_model(WINDOW), tmp_path / "m", ["AT", "GC"])
    vcf = tmp_path / "bad.vcf"
    vcf.write_text("#CHROM\tPOS\tID\tREF\tALT\nchr1\t10\t.\tC\n")
    argv = ["score-variants", "--model", str(model), "--genome", str(genome), "--vcf", str(vcf)]
    assert main([*argv, "--out", str(tmp_path / "o.h5")]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [
        f"seq2chrom score-variants: error: {vcf}:2: 4 tab-separated column(s), a VCF record "
        "needs at least 5 (CHROM POS ID REF ALT) (fix: give a tab-separated VCF (CHROM POS ID "
        "REF ALT ...), e.g. from `bcftools view`)"
    ]
    assert not (tmp_path / "o.h5").exists()


def test_predict_region_writes_one_bigwig_per_track(tmp_path, genome):
    model = save(composition_model(WINDOW), tmp_path / "m", ["AT", "GC"])
    bed = tmp_path / "regions.bed"
    bed.write_text("chr1\t0\t60\tr1\nchr1\t40\t100\tr2\n")  # overlapping: merged to 0-100
    out = tmp_path / "tracks"
    out.mkdir()
    (out / "notes.txt").write_text("mine")  # a file of the user's, not of predict-region
    argv = ["predict-region", "--model", str(model), "--genome", str(genome), "--regions"]
    assert main([*argv, str(bed), "--out-dir", str(out), "--tracks", "GC", "--step", "20",
                 "--bin-size", "20"]) == 0  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == ["GC.bw", "notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"
    handle = pyBigWig.open(str(out / "GC.bw"))
    assert handle.chroms() == {"chr1": 120, "chr2": 80}
    intervals = handle.intervals("chr1")
    handle.close()
    assert [(s, e) for s, e, _ in intervals] == [(0, 20), (20, 40), (40, 60), (60, 80), (80, 100)]
    # bin 0-20: window -10..30 = 10 N + 30 C -> GC fraction 30/40 (N rows count as nothing)
    np.testing.assert_allclose(intervals[0][2], 0.75, atol=1e-6)


def test_mutagenesis_finds_the_motif(tmp_path, genome):
    model = save(motif_model(WINDOW), tmp_path / "m", ["GATA"])
    bed = tmp_path / "regions.bed"
    bed.write_text("chr1\t42\t82\tsite\n")  # window 42-82 holds GATA at 60-63
    out = tmp_path / "ism"
    out.mkdir()
    (out / "notes.txt").write_text("mine")  # a file of the user's, not of mutagenesis
    argv = ["mutagenesis", "--model", str(model), "--genome", str(genome), "--regions", str(bed)]
    assert main([*argv, "--track", "GATA", "--out-dir", str(out), "--span", "10"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "mutagenesis.h5", "notes.txt", "regions.tsv", "site.png",
    ]  # fmt: skip
    assert (out / "notes.txt").read_text() == "mine"
    with h5py.File(out / "mutagenesis.h5") as h5:
        assert h5["effects"].shape == (1, WINDOW, 4)
        importance = h5["importance"][0]
    assert np.flatnonzero(importance > 1e-6).tolist() == [18, 19, 20, 21]
    table = pd.read_csv(out / "regions.tsv", sep="\t")
    assert table["peak_position"].tolist()[0] in range(60, 64)
    assert (out / "site.png").read_bytes()[:4] == b"\x89PNG"


def test_a_failed_predict_region_replaces_and_leaves_no_file(tmp_path, genome, monkeypatch):
    """The first bigWig is written, the second fails half-way: neither is renamed into place,
    no temporary stays, and the folder's earlier files are as they were."""
    from seq2chrom.inference import tracks

    def fail_after_the_first(paths, *args):
        (first, path), (_, second) = paths.items()
        write_bigwigs({first: path}, *args)
        second.write_bytes(b"half a bigWig")
        raise RuntimeError("killed while writing")

    write_bigwigs = tracks.write_bigwigs
    monkeypatch.setattr(tracks, "write_bigwigs", fail_after_the_first)
    model = save(composition_model(WINDOW), tmp_path / "m", ["AT", "GC"])
    bed = tmp_path / "regions.bed"
    bed.write_text("chr1\t0\t60\n")
    out = tmp_path / "tracks"
    out.mkdir()
    (out / "AT.bw").write_bytes(b"earlier run")
    (out / "notes.txt").write_text("mine")
    argv = ["predict-region", "--model", str(model), "--genome", str(genome), "--regions"]
    with pytest.raises(RuntimeError, match="killed while writing"):
        main([*argv, str(bed), "--out-dir", str(out), "--step", "20", "--bin-size", "20"])
    assert sorted(p.name for p in out.iterdir()) == ["AT.bw", "notes.txt"]
    assert (out / "AT.bw").read_bytes() == b"earlier run"


def test_a_failed_mutagenesis_leaves_no_file(tmp_path, genome, monkeypatch):
    """mutagenesis.h5 and regions.tsv are written before the plot fails: neither stays."""
    from seq2chrom.inference import mutagenesis

    def fail(*args, **kwargs):
        raise RuntimeError("no plot")

    monkeypatch.setattr(mutagenesis, "plot_mutagenesis", fail)
    model = save(motif_model(WINDOW), tmp_path / "m", ["GATA"])
    bed = tmp_path / "regions.bed"
    bed.write_text("chr1\t42\t82\tsite\n")
    out = tmp_path / "ism"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    argv = ["mutagenesis", "--model", str(model), "--genome", str(genome), "--regions", str(bed)]
    with pytest.raises(RuntimeError, match="no plot"):
        main([*argv, "--track", "GATA", "--out-dir", str(out)])
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_report_summary_links_each_number(tmp_path):
    folder = tmp_path / "results"
    (folder / "eval" / "m").mkdir(parents=True)
    (folder / "motifs" / "m").mkdir(parents=True)
    (folder / "variants" / "m").mkdir(parents=True)
    (folder / "eval" / "m" / "summary.tsv").write_text(
        "assay\tn_tracks\tn_evaluated\tmedian_auroc\tmean_auroc\tmedian_auprc\tmean_auprc\n"
        "TF\t2\t2\t0.95\t0.95\t0.5\t0.5\nall\t2\t2\t0.95\t0.95\t0.5\t0.5\n"
    )
    (folder / "motifs" / "m" / "summary.tsv").write_text(
        "filter\tbest_match_id\tbest_match\tevalue\n"
        "f1\tMA1\tCTCF\t1e-5\nf2\tMA1\tCTCF\t1e-3\nf3\t\t\t\nf4\tMA2\tGATA1\t1e-9\n"
    )
    (folder / "variants" / "m" / "demo.top.tsv").write_text(
        "variant_id\tchrom\tpos\tref\talt\ttop_track\ttop_diff\tmax_abs_diff\n"
        "v1\tchr1\t5\tA\tG\tCTCF_K562\t-0.4\t0.4\n"
    )
    out = tmp_path / "summary"
    argv = ["report-summary", "--models", "m", "--presets", '{"m": "small"}']
    argv += ["--eval", str(folder / "eval/m/summary.tsv")]
    argv += ["--motifs", str(folder / "motifs/m/summary.tsv")]
    argv += ["--variants", str(folder / "variants/m/demo.top.tsv")]
    argv += ["--out-table", f"{out}.tsv", "--out-html", f"{out}.html", "--out-rst", f"{out}.rst"]
    assert main(argv) == 0
    table = pd.read_csv(f"{out}.tsv", sep="\t")
    assert table["value"].tolist() == [
        "0.950", "0.500", "0.950", "0.500", "3 of 4", "2 filters", "1 filter", "CTCF_K562 -0.400",
    ]  # fmt: skip
    assert table["item"].tolist()[5:] == ["CTCF", "GATA1", "v1"]
    rst = (tmp_path / "summary.rst").read_text()
    link = f"`0.950 <javascript:app.showResultInfo('{folder}/eval/m/summary.html')>`__"
    assert link in rst
    assert f"app.showResultInfo('{folder}/variants/m/demo.top.html')" in rst
    from docutils.core import publish_parts

    body = publish_parts(rst, writer_name="html")["body"]
    assert body.count("javascript:app.showResultInfo") == 8


def test_report_summary_says_a_collapsed_model_in_words(tmp_path):
    summary = tmp_path / "eval" / "m" / "summary.tsv"
    summary.parent.mkdir(parents=True)
    summary.write_text(
        "assay\tn_tracks\tn_evaluated\tn_constant\tmedian_auroc\tmean_auroc\tmedian_auprc"
        "\tmean_auprc\nTF\t2\t0\t2\tNA\tNA\tNA\tNA\nall\t2\t0\t2\tNA\tNA\tNA\tNA\n"
    )
    out = tmp_path / "summary"
    argv = ["report-summary", "--models", "m", "--eval", str(summary)]
    argv += ["--out-table", f"{out}.tsv", "--out-html", f"{out}.html", "--out-rst", f"{out}.rst"]
    assert main(argv) == 0
    table = pd.read_csv(f"{out}.tsv", sep="\t", keep_default_na=False)
    assert table.loc[0, ["section", "item"]].tolist() == ["warning", "constant predictions"]
    assert table.loc[0, "value"].startswith("2 of 2 tracks: one number for every test window")
    assert set(table.loc[1:, "value"]) == {"NA"}  # never an AUROC of 0.500
    assert "constant predictions" in (tmp_path / "summary.rst").read_text()


def test_a_vcf_without_records_writes_empty_tables(tmp_path, genome):
    model = save(composition_model(WINDOW), tmp_path / "m", ["AT", "GC"])
    vcf = tmp_path / "empty.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n")
    out = tmp_path / "empty.h5"
    argv = ["score-variants", "--model", str(model), "--genome", str(genome), "--vcf", str(vcf)]
    assert main([*argv, "--out", str(out)]) == 0
    assert pd.read_csv(tmp_path / "empty.tsv.gz", sep="\t").empty
    top = tmp_path / "empty.top.tsv"
    assert list(pd.read_csv(top, sep="\t").columns)[:6] == [
        "variant_id", "chrom", "pos", "ref", "alt", "top_track",
    ]  # fmt: skip
    html, png = tmp_path / "e.html", tmp_path / "e.png"
    report = ["variant-report", "--top", str(top), "--out-html", str(html), "--out-png", str(png)]
    assert main(report) == 0
    assert "No variant was scored" in html.read_text()


def test_an_empty_vcf_file_is_scored_as_empty_with_a_warning(tmp_path, genome, caplog):
    model = save(composition_model(WINDOW), tmp_path / "m", ["AT", "GC"])
    vcf = tmp_path / "download.vcf.gz"
    vcf.write_bytes(b"")  # what a failed download leaves
    out = tmp_path / "empty.h5"
    argv = ["score-variants", "--model", str(model), "--genome", str(genome), "--vcf", str(vcf)]
    with caplog.at_level(logging.WARNING):
        assert main([*argv, "--out", str(out)]) == 0
    assert pd.read_csv(tmp_path / "empty.tsv.gz", sep="\t").empty
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"{vcf}: empty file (0 bytes, no VCF header); usually a failed download"]


def test_a_model_whose_config_lists_other_tracks_stops_with_one_line(tmp_path, genome, capsys):
    model = save(composition_model(WINDOW), tmp_path / "m", ["AT", "GC", "CTCF"])
    vcf = tmp_path / "in.vcf"
    vcf.write_text("#CHROM\tPOS\tID\tREF\tALT\nchr1\t10\t.\tC\tA\n")
    argv = ["score-variants", "--model", str(model), "--genome", str(genome), "--vcf", str(vcf)]
    assert main([*argv, "--out", str(tmp_path / "o.h5"), "--device", "cpu"]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "2 outputs but config.yaml lists 3 tracks" in error[0]
    assert not (tmp_path / "o.h5").exists()


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory):
    """The demo VCF (plus a symbolic allele and a wrong REF) and 200 background SNVs, on the
    demo genome's chr8 and chr9, and a model of 6 random tracks saved like a trained one."""
    from seq2chrom.demo.build import build_demo
    from seq2chrom.demo.genome import chrom_offsets
    from seq2chrom.demo.motifs import load_factor_motifs
    from seq2chrom.demo.variants import (
        VARIANT_CHROMS,
        background_vcf_text,
        demo_background,
        demo_variants,
        vcf_text,
    )

    folder = tmp_path_factory.mktemp("demo")
    demo = build_demo(1)
    seq = np.concatenate(list(demo.genome.values()))
    chroms, offsets = list(demo.genome), chrom_offsets()
    variants = demo_variants(seq, offsets, chroms, demo.sites, load_factor_motifs(),
                             np.random.default_rng(5))  # fmt: skip
    end = int(variants.loc[variants["chrom"] == "chr9", "pos"].max()) + 100  # after the last
    base = chr(demo.genome["chr9"][end - 1]).upper()
    other = "ACGT"[("ACGT".index(base) + 1) % 4]
    odd = (
        f"chr9\t{end}\tsv\t{base}\t<DEL>,{other}\t.\t.\t.\n"
        f"chr9\t{end + 1}\twrong\tNNNN\tA\t.\t.\t.\n"
    )
    (folder / "demo.vcf").write_text(vcf_text(variants) + odd)
    background = demo_background(seq, offsets, chroms, np.random.default_rng(6), 200)
    (folder / "background.vcf").write_text(background_vcf_text(background))
    (folder / "genome.fa").write_text(
        "".join(f">{c}\n{demo.genome[c].tobytes().decode()}\n" for c in VARIANT_CHROMS)
    )
    tracks = [f"track_{j}" for j in range(6)]
    save(random_model(1000, 6), folder / "m", tracks)
    (folder / "tracks.tsv").write_text(
        "name\tassay\n"
        + "".join(f"{t}\t{'TF' if j < 4 else 'DNase'}\n" for j, t in enumerate(tracks))  # fmt: skip
    )
    return folder


def score(folder, vcf, out, *extra):
    argv = ["score-variants", "--model", str(folder / "m" / "model.keras"), "--genome",
            str(folder / "genome.fa"), "--vcf", str(vcf), "--device", "cpu", "--track-sheet",
            str(folder / "tracks.tsv"), "--out", str(out), *extra]  # fmt: skip
    assert main(argv) == 0


def test_a_sharded_run_writes_the_bytes_of_an_unsharded_one(demo_inputs, tmp_path):
    folder = demo_inputs
    vcf, background = folder / "demo.vcf", tmp_path / "background.h5"
    score(folder, folder / "background.vcf", background, "--tsv-tracks")
    table = ["--background", str(background), "--tsv-tracks", "TF", "--min-abs-diff", "0.001"]
    score(folder, vcf, tmp_path / "whole" / "demo.h5", *table, "--top", "25")
    assert main(["split-vcf", "--vcf", str(vcf), "--shard-size", "40", "--out-dir",
                 str(tmp_path / "shards")]) == 0  # fmt: skip
    shards = sorted((tmp_path / "shards").iterdir())
    assert [p.name for p in shards] == ["00000.vcf.gz", "00001.vcf.gz", "00002.vcf.gz",
                                        "00003.vcf.gz"]  # fmt: skip
    parts = []
    for shard in shards:
        parts.append(tmp_path / "parts" / shard.name.replace(".vcf.gz", ".h5"))
        score(folder, shard, parts[-1], "--background", str(background), "--part")
    assert sorted(p.name for p in (tmp_path / "parts").iterdir())[:2] == [
        "00000.h5", "00000.skipped.tsv",
    ]  # fmt: skip
    gather = ["gather-variants", "--vcf", str(vcf), "--parts", *map(str, parts), "--out",
              str(tmp_path / "gathered" / "demo.h5"), "--track-sheet",
              str(folder / "tracks.tsv")]  # fmt: skip
    assert main([*gather, *table[2:], "--top", "25"]) == 0
    names = ["demo.h5", "demo.skipped.tsv", "demo.top.tsv", "demo.tsv.gz", "demo.vcf.gz",
             "demo.vcf.gz.tbi"]  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "gathered").iterdir()) == names
    for name in names:
        whole = (tmp_path / "whole" / name).read_bytes()
        assert (tmp_path / "gathered" / name).read_bytes() == whole, name
    skipped = pd.read_csv(tmp_path / "whole" / "demo.skipped.tsv", sep="\t")
    assert skipped["variant_id"].tolist() == ["sv", "wrong"]
    top = pd.read_csv(tmp_path / "whole" / "demo.top.tsv", sep="\t")
    assert len(top) == 25 and top["max_abs_diff"].is_monotonic_decreasing
    effects = pd.read_csv(tmp_path / "whole" / "demo.tsv.gz", sep="\t")
    assert set(effects["track"]) <= {f"track_{j}" for j in range(4)}  # the TF tracks
    assert (effects["diff"].abs() >= 0.001).all() and "evalue" in effects


def test_evalues_of_a_scored_vcf_are_the_direct_count(demo_inputs, tmp_path):
    import h5py
    import pysam
    from seq2chrom.variants.vcf import read_vcf

    folder = demo_inputs
    background = tmp_path / "background.h5"
    score(folder, folder / "background.vcf", background, "--tsv-tracks")
    score(folder, folder / "demo.vcf", tmp_path / "demo.h5", "--background", str(background))
    with h5py.File(background) as h5:
        null = np.abs(h5["alt_prob"][:] - h5["ref_prob"][:])
    with h5py.File(tmp_path / "demo.h5") as h5:
        assert h5.attrs["n_background"] == len(null) == 200
        effect = np.abs(h5["alt_prob"][:] - h5["ref_prob"][:])
        evalue = h5["evalue"][:]
        min_evalue = h5["variants/min_evalue"][:]
        ids = h5["variants/variant_id"].asstr()[:]
    direct = (null[None, :, :] > effect[:, None, :]).mean(axis=1)
    np.testing.assert_allclose(evalue, direct, rtol=1e-6, atol=0)
    np.testing.assert_array_equal(min_evalue, evalue.min(axis=1))
    records = read_vcf(folder / "demo.vcf")
    assert len(effect) == len(records.variants) - 1  # all but the wrong REF
    assert (min_evalue < 1).any() and (min_evalue > 0).any()
    vcf = pysam.VariantFile(str(tmp_path / "demo.vcf.gz"))  # tabix index found beside it
    first = next(iter(vcf.fetch("chr9")))  # a region read through the index
    row = list(ids).index(first.id)
    np.testing.assert_allclose(first.info["S2C_EVALUE"][0], min_evalue[row], rtol=1e-5)
    counts = {chrom: sum(1 for _ in vcf.fetch(chrom)) for chrom in ("chr8", "chr9")}
    assert sum(counts.values()) == records.records and min(counts.values()) > 0
