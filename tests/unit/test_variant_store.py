"""The scores file: written chunk by chunk with HDF5's own filters (read back by plain h5py),
the same bytes however the rows arrive, and shards gathered into the bytes of one file."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from seq2chrom.errors import InputError
from seq2chrom.variants.store import (
    ScoresWriter,
    chunk_rows,
    contig_attrs,
    gather_scores,
    open_scores,
)

COLUMNS = {"variant_id": object, "chrom": object, "pos": np.int64, "line": np.int64,
           "max_abs_diff": np.float32}  # fmt: skip


def rows(n: int, n_tracks: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    table = {
        "variant_id": np.array([f"rs{i}" * (1 + i % 3) for i in range(n)], dtype=object),
        "chrom": np.array(["chr1" if i < n // 2 else "chrX" for i in range(n)], dtype=object),
        "pos": np.arange(n, dtype=np.int64) * 7 + 1,
        "line": np.arange(n, dtype=np.int64) + 3,
        "max_abs_diff": rng.random(n).astype(np.float32),
    }
    ref = rng.random((n, n_tracks)).astype(np.float32) ** 3
    alt = np.clip(ref + rng.normal(0, 0.05, ref.shape), 0, 1).astype(np.float32)
    return table, {"ref_prob": ref, "alt_prob": alt}


def write(path, table, matrices, tracks, cuts, attrs=None):
    """Hand the rows to a writer in the blocks that `cuts` (row indices) delimit."""
    with ScoresWriter(path, tracks, COLUMNS, attrs=attrs or {"vcf": "in.vcf"}) as writer:
        bounds = [0, *cuts, len(table["pos"])]
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            writer.append({c: v[start:stop] for c, v in table.items()},
                          {m: v[start:stop] for m, v in matrices.items()})  # fmt: skip
        writer.set_attrs(**contig_attrs(dict.fromkeys(table["chrom"].tolist(), 1000)))
    return path.read_bytes()


def test_rows_read_back_through_plain_h5py_with_hdf5s_filters(tmp_path):
    n_tracks = 300
    n = 2 * chunk_rows(n_tracks) + 17  # two whole chunks and a padded one
    table, matrices = rows(n, n_tracks)
    tracks = [f"t{j}" for j in range(n_tracks)]
    write(tmp_path / "s.h5", table, matrices, tracks, [5, 400, 401])
    with h5py.File(tmp_path / "s.h5") as h5:  # decompressed by HDF5, not by seq2chrom
        assert h5["ref_prob"].shape == (n, n_tracks) and h5["ref_prob"].dtype == np.float32
        assert h5["ref_prob"].compression == "gzip" and h5["ref_prob"].shuffle
        np.testing.assert_array_equal(h5["ref_prob"][:], matrices["ref_prob"])
        np.testing.assert_array_equal(h5["alt_prob"][:], matrices["alt_prob"])
        assert h5["variants/variant_id"].asstr()[:].tolist() == table["variant_id"].tolist()
        np.testing.assert_array_equal(h5["variants/line"][:], table["line"])
        assert h5["tracks"].asstr()[:].tolist() == tracks
    with open_scores(tmp_path / "s.h5") as scores:
        assert scores.n == n and scores.tracks == tracks and scores.columns == list(COLUMNS)
        assert scores.attrs["vcf"] == "in.vcf"
        assert list(scores.attrs["contigs"]) == ["chr1", "chrX"]
        part = scores.table(10, 20)
        assert part["chrom"].tolist() == table["chrom"][10:20].tolist()
        np.testing.assert_array_equal(scores.matrix("alt_prob", n - 3), matrices["alt_prob"][-3:])


def test_the_same_rows_give_the_same_bytes_however_they_arrive(tmp_path):
    table, matrices = rows(1000, 256)  # chunks of 1024 rows... and of 64 for 4096 tracks
    tracks = [f"t{j}" for j in range(256)]
    one = write(tmp_path / "a.h5", table, matrices, tracks, [])
    many = write(tmp_path / "b.h5", table, matrices, tracks, [1, 2, 3, 500, 999])
    assert one == many


def test_shards_gather_into_the_bytes_of_one_file(tmp_path):
    n_tracks = 200
    table, matrices = rows(3 * chunk_rows(n_tracks) + 50, n_tracks, seed=1)
    tracks = [f"t{j}" for j in range(n_tracks)]
    whole = write(tmp_path / "whole.h5", table, matrices, tracks, [100, 700])
    cuts = [0, 333, 333, 334, 1000, len(table["pos"])]  # shards of any size, one empty
    parts = []
    for k, (start, stop) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        part = tmp_path / f"{k}.h5"
        write(part, {c: v[start:stop] for c, v in table.items()},
              {m: v[start:stop] for m, v in matrices.items()}, tracks, [],
              attrs={"vcf": f"shard{k}.vcf"})  # fmt: skip
        parts.append(part)
    gather_scores(parts, tmp_path / "gathered.h5", {"vcf": "in.vcf"})
    assert (tmp_path / "gathered.h5").read_bytes() == whole


def test_gathering_shards_of_other_tracks_stops(tmp_path):
    table, matrices = rows(10, 3)
    write(tmp_path / "a.h5", table, matrices, ["a", "b", "c"], [])
    write(tmp_path / "b.h5", table, matrices, ["a", "b", "x"], [])
    with pytest.raises(InputError, match="other tracks or columns"):
        gather_scores([tmp_path / "a.h5", tmp_path / "b.h5"], tmp_path / "g.h5", {})


def test_a_file_that_is_not_a_scores_file_is_an_input_error(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as h5:
        h5["x"] = [1]
    with pytest.raises(InputError, match="not a 'seq2chrom variant scores 1' file"):
        open_scores(tmp_path / "other.h5")
    with pytest.raises(InputError, match="scores file not found"):
        open_scores(tmp_path / "none.h5")
