"""The demo VCF and regions: variants sit on planted motifs or far from all, REF matches."""

from __future__ import annotations

import numpy as np
import pytest
from seq2chrom.demo.build import build_demo
from seq2chrom.demo.genome import chrom_offsets
from seq2chrom.demo.motifs import load_factor_motifs
from seq2chrom.demo.variants import (
    MIN_CONTROL_DISTANCE,
    VARIANT_CHROMS,
    background_vcf_text,
    demo_background,
    demo_regions,
    demo_variants,
    vcf_text,
)
from seq2chrom.variants.vcf import read_vcf


@pytest.fixture(scope="module")
def demo():
    built = build_demo(1)
    motifs = load_factor_motifs()
    seq = np.concatenate(list(built.genome.values()))
    table = demo_variants(
        seq, chrom_offsets(), list(built.genome), built.sites, motifs, np.random.default_rng(7)
    )
    return built, motifs, table


def test_every_variant_matches_the_genome_and_reads_back(demo, tmp_path):
    built, _, table = demo
    assert set(table["chrom"]) <= set(VARIANT_CHROMS)
    for row in table.itertuples():
        genome = built.genome[row.chrom][row.pos - 1 : row.pos - 1 + len(row.ref)]
        assert genome.tobytes().decode().upper() == row.ref
    path = tmp_path / "demo.vcf"
    path.write_text(vcf_text(table))
    records = read_vcf(path)
    assert len(records.variants) == len(table) and records.skipped.empty
    assert records.variants["variant_id"].is_unique


def test_motif_variants_hit_their_motif_and_controls_stay_away(demo):
    built, motifs, table = demo
    chroms = list(built.genome)
    offsets = chrom_offsets()
    at = offsets[[chroms.index(c) for c in table["chrom"]]] + table["pos"].to_numpy() - 1
    motif = table["kind"] == "motif"
    assert motif.sum() >= 90 and (~motif).sum() >= 30
    assert set(table.loc[motif, "factor"]) == set(motifs)
    for position, factor in zip(at[motif], table.loc[motif, "factor"], strict=True):
        centres = built.sites.motif_centre[built.sites.motif_factor == factor]
        assert np.abs(centres - position).min() <= len(motifs[factor].pfm) // 2 + 3
    distance = np.abs(built.sites.motif_centre[None, :] - at[~motif][:, None]).min(axis=1)
    assert distance.min() > MIN_CONTROL_DISTANCE


def test_regions_are_on_the_first_test_chromosome(demo):
    built, _, _ = demo
    regions = demo_regions(chrom_offsets(), list(built.genome), built.sites)
    assert (regions["chrom"] == VARIANT_CHROMS[0]).all()
    assert ((regions["end"] - regions["start"]) == 20_000).all()
    assert (regions["start"] % 200 == 0).all() and regions["start"].is_monotonic_increasing


def test_background_snvs_match_the_genome_on_the_test_chromosomes(demo, tmp_path):
    built, _, _ = demo
    seq = np.concatenate(list(built.genome.values()))
    table = demo_background(seq, chrom_offsets(), list(built.genome), np.random.default_rng(3), 50)
    assert len(table) == 50 and set(table["chrom"]) <= set(VARIANT_CHROMS)
    for row in table.itertuples():
        assert built.genome[row.chrom][row.pos - 1 : row.pos].tobytes().decode().upper() == row.ref
    assert (table["ref"] != table["alt"]).all() and set(table["alt"]) <= set("ACGT")
    path = tmp_path / "background.vcf"
    path.write_text(background_vcf_text(table))
    records = read_vcf(path)
    assert len(records.variants) == 50 and records.skipped.empty
    assert records.variants.sort_values(["chrom", "pos"]).index.tolist() == list(range(50))
