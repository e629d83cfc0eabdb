"""Data summary (seq2chrom.data.summary): samples per split and positives per track per split."""

import h5py
import numpy as np
from seq2chrom.data.summary import ALL_BINS, summarize_labels, summary_html


def test_counts_per_split(tmp_path):
    path = tmp_path / "labels.h5"
    y = np.array([[1, 0], [1, 1], [0, 1], [1, 1], [0, 0]], np.uint8)
    with h5py.File(path, "w") as h5:
        for key, values in {
            "tracks": ["CTCF", "DNase<x>"],
            "assays": ["TF", "DNase"],
            "cell_types": ["K562", "HepG2"],
        }.items():
            h5.create_dataset(key, data=values, dtype=h5py.string_dtype())
        h5.create_dataset("chroms", data=["chr1"], dtype=h5py.string_dtype())
        h5["chrom_index"] = np.zeros(5, np.int32)
        h5["start"] = np.arange(5, dtype=np.int64) * 200
        h5["split"] = np.array([0, 0, 1, 2, 2], np.uint8)
        h5["y"] = y
        h5.attrs.update(bin_size=200, window=1000)
    table = summarize_labels(path, block_rows=2)
    assert table["track"].tolist() == [ALL_BINS, "CTCF", "DNase<x>"]
    assert table[["train", "valid", "test", "total"]].values.tolist() == [
        [2, 1, 2, 5],
        [2, 0, 1, 3],
        [1, 1, 1, 3],
    ]
    assert table["positive_fraction"].tolist() == [1.0, 0.6, 0.6]
    page = summary_html(table)
    assert page.startswith("<!DOCTYPE html>") and "DNase&lt;x&gt;" in page and ALL_BINS in page
