"""Data build at hg19 scale: labeling ~15.5M bins for many tracks, and encoding windows.

Goals (issue 2): 919 tracks labeled in a few minutes on 2 cores under 8 GB; 2.2M windows
encoded in about a minute.

Synthetic inputs, written to a temporary folder and removed afterwards:
- bins.h5: every 200 bp grid bin of 24 chromosomes of hg19's sizes whose 1000 bp window fits
  (~15.5M bins, no N filtering);
- BENCH_DATA_TRACKS peak files (default 50) of 20k-60k peaks each, placed uniformly, widths
  log-normal around 300 bp (every fifth track broad, around 2 kb), unsorted;
- for encoding, a random 249 Mb chromosome and a labels.h5 of BENCH_DATA_WINDOWS windows
  (default 220,000, a tenth of DeepSEA's 2.2M training windows) with 919 tracks.

Labeling is timed per track as the `label` job does it (read bins.h5, read and check the peak
file, label, write the packed .npy), in this process and as real `seq2chrom label` processes
(interpreter start included; peak RSS from the children's rusage). 919 tracks on 2 cores =
919 / 2 x the median job time. bedtools is timed per track on the same bins (as a BED file, not
counted) and peaks: `sort | merge | coverage -sorted` (the same rule) and
`sort | merge | intersect -sorted -u -f 0.5` (the usual per-track command).
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
from seq2chrom.data.assemble import assemble_labels
from seq2chrom.data.bins import Bins, read_bins, write_bins
from seq2chrom.data.encode import write_split_file
from seq2chrom.data.genome import open_genome, read_chromosome
from seq2chrom.data.labels import label_bins, save_labels
from seq2chrom.data.peaks import read_peaks
from seq2chrom.data.tracksheet import Track

HG19 = {
    "chr1": 249_250_621, "chr2": 243_199_373, "chr3": 198_022_430, "chr4": 191_154_276,
    "chr5": 180_915_260, "chr6": 171_115_067, "chr7": 159_138_663, "chr8": 146_364_022,
    "chr9": 141_213_431, "chr10": 135_534_747, "chr11": 135_006_516, "chr12": 133_851_895,
    "chr13": 115_169_878, "chr14": 107_349_540, "chr15": 102_531_392, "chr16": 90_354_753,
    "chr17": 81_195_210, "chr18": 78_077_248, "chr19": 59_128_983, "chr20": 63_025_520,
    "chr21": 48_129_895, "chr22": 51_304_566, "chrX": 155_270_560, "chrY": 59_373_566,
}  # fmt: skip
SIZE, WINDOW, ALL_TRACKS, DEEPSEA_WINDOWS = 200, 1000, 919, 2_200_000
N_TRACKS = int(os.environ.get("BENCH_DATA_TRACKS", 50))
N_JOBS = int(os.environ.get("BENCH_DATA_JOBS", 6))
N_BEDTOOLS = int(os.environ.get("BENCH_DATA_BEDTOOLS", 2))
N_WINDOWS = int(os.environ.get("BENCH_DATA_WINDOWS", 220_000))
CORES = 2
BIN = Path(sys.executable).parent


def hg19_bins() -> Bins:
    starts, counts = [], []
    margin = (WINDOW - SIZE) // 2
    for length in HG19.values():
        grid = np.arange(0, length - SIZE + 1, SIZE, dtype=np.int64)
        grid = grid[(grid >= margin) & (grid + SIZE + margin <= length)]
        starts.append(grid)
        counts.append(grid.shape[0])
    offsets = np.concatenate([[0], np.cumsum(counts)])
    lengths = np.array(list(HG19.values()))
    return Bins(list(HG19), lengths, offsets, np.concatenate(starts), SIZE, WINDOW)


def write_peaks(path: Path, rng: np.random.Generator, broad: bool) -> int:
    n = int(rng.integers(20_000, 60_001))
    names = np.array(list(HG19))
    lengths = np.array(list(HG19.values()))
    chrom = rng.choice(len(HG19), n, p=lengths / lengths.sum())
    width = rng.lognormal(np.log(2_000 if broad else 300), 0.6, n).astype(np.int64) + 20
    start = (rng.random(n) * (lengths[chrom] - width)).astype(np.int64)
    lines = [
        f"{c}\t{s}\t{s + w}\tpeak\t0\t.\t5.0\t-1\t3.0\t100"
        for c, s, w in zip(names[chrom].tolist(), start.tolist(), width.tolist(), strict=True)
    ]
    path.write_text("track name=synthetic\n" + "\n".join(lines) + "\n")
    return n


def write_bins_bed(path: Path, bins: Bins) -> None:
    """Bins as BED in lexicographic chromosome order (for bedtools -sorted after `sort -k1,1`)."""
    with open(path, "w") as handle:
        for chrom in sorted(bins.chroms):
            starts = bins.start[bins.of(chrom)]
            block = np.char.add(np.char.add(f"{chrom}\t", starts.astype(str)), "\t")
            handle.write("\n".join(np.char.add(block, (starts + SIZE).astype(str))) + "\n")


def label_job(bins_path: Path, peaks: Path, output: Path) -> float:
    started = time.perf_counter()
    bins = read_bins(bins_path)
    labels = label_bins(bins, read_peaks(peaks, bins.chrom_sizes()), 0.5)
    save_labels(output, labels)
    return time.perf_counter() - started


def timed_shell(command: str) -> float:
    started = time.perf_counter()
    subprocess.run(command, shell=True, check=True, executable="/bin/bash")
    return time.perf_counter() - started


def bench_labels(folder: Path) -> None:
    bins = hg19_bins()
    write_bins(folder / "bins.h5", bins)
    print(f"bins: {len(bins):,} over {len(HG19)} chromosomes of hg19 sizes")
    rng = np.random.default_rng(0)
    peak_counts = [
        write_peaks(folder / f"t{i}.bed", rng, broad=i % 5 == 4) for i in range(N_TRACKS)
    ]
    print(f"tracks: {N_TRACKS}, peaks per track {min(peak_counts):,}-{max(peak_counts):,}")

    times = [
        label_job(folder / "bins.h5", folder / f"t{i}.bed", folder / f"t{i}.npy")
        for i in range(N_TRACKS)
    ]
    per_track = statistics.median(times)
    print(
        f"label in-process: median {per_track:.3f} s/track (min {min(times):.3f}, max "
        f"{max(times):.3f}); {N_TRACKS} tracks {sum(times):.1f} s on 1 core"
    )
    jobs = []
    for i in range(min(N_JOBS, N_TRACKS)):
        jobs.append(
            timed_shell(
                f"{BIN}/seq2chrom label --bins {folder}/bins.h5 --peaks {folder}/t{i}.bed"
                f" --min-overlap 0.5 --out {folder}/job{i}.npy 2> /dev/null"
            )
        )
        assert (folder / f"job{i}.npy").read_bytes() == (folder / f"t{i}.npy").read_bytes()
    per_job = statistics.median(jobs)
    rss_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    startup = statistics.median(timed_shell(f"{BIN}/seq2chrom --help > /dev/null") for _ in "abc")
    print(
        f"label job (`seq2chrom label` process): median {per_job:.3f} s, of which "
        f"{startup:.3f} s is starting `seq2chrom` (--help); peak RSS {rss_gb:.2f} GB"
    )
    print(
        f"919 tracks on {CORES} cores: {ALL_TRACKS * per_job / CORES / 60:.1f} min as jobs "
        f"({ALL_TRACKS * per_track / CORES / 60:.1f} min of labeling work), "
        f"memory {CORES * rss_gb:.2f} GB for {CORES} jobs at once"
    )

    tracks = [Track(f"t{i}", "TF" if i % 5 < 3 else "DNase", "X", "") for i in range(N_TRACKS)]
    started = time.perf_counter()
    counts = assemble_labels(
        bins,
        tracks,
        [folder / f"t{i}.npy" for i in range(N_TRACKS)],
        "tf_positive",
        ["chr8", "chr9"],
        ["chr7"],
        folder / "labels.h5",
    )
    assembled = time.perf_counter() - started
    print(
        f"assemble {N_TRACKS} tracks (tf_positive, {sum(counts.values()):,} bins selected): "
        f"{assembled:.1f} s -> ~{assembled * ALL_TRACKS / N_TRACKS / 60:.1f} min for 919 tracks"
    )

    if not shutil.which("bedtools"):
        print("bedtools not found: comparison skipped")
        return
    write_bins_bed(folder / "bins.bed", bins)
    merge = "sort -k1,1 -k2,2n {peaks} | bedtools merge -i stdin"
    coverage, intersect = [], []
    for i in range(min(N_BEDTOOLS, N_TRACKS)):
        peaks = folder / f"t{i}.bed"
        coverage.append(
            timed_shell(
                merge.format(peaks=peaks) + f" | bedtools coverage -sorted -a {folder}/bins.bed"
                f" -b stdin > {folder}/coverage.txt"
            )
        )
        intersect.append(
            timed_shell(
                merge.format(peaks=peaks) + f" | bedtools intersect -sorted -u -f 0.5"
                f" -a {folder}/bins.bed -b stdin > {folder}/intersect.txt"
            )
        )
    for name, values in (("coverage", coverage), ("intersect -u -f 0.5", intersect)):
        median = statistics.median(values)
        print(
            f"bedtools merge | {name}: median {median:.2f} s/track -> {median / per_track:.0f}x "
            f"the in-process labeling, {median / per_job:.1f}x the label job; 919 tracks on "
            f"{CORES} cores {ALL_TRACKS * median / CORES / 60:.0f} min"
        )


def bench_encode(folder: Path) -> None:
    rng = np.random.default_rng(1)
    length = HG19["chr1"]
    sequence = np.frombuffer(b"ACGTacgt", np.uint8)[rng.integers(0, 8, length, dtype=np.uint8)]
    with open(folder / "genome.fa", "wb") as handle:
        handle.write(b">chr1\n")
        lines = length // 60
        body = np.concatenate(
            [sequence[: lines * 60].reshape(lines, 60), np.full((lines, 1), 10, np.uint8)], axis=1
        )
        handle.write(body.tobytes())
        handle.write(sequence[lines * 60 :].tobytes() + b"\n")
    del sequence, body
    genome = open_genome(folder / "genome.fa")
    grid = np.arange(400, length - 600 - SIZE, SIZE)
    starts = np.sort(rng.choice(grid, N_WINDOWS, replace=False))
    with h5py.File(folder / "labels.h5", "w") as h5:
        text = h5py.string_dtype()
        h5.create_dataset("tracks", data=[f"t{i}" for i in range(ALL_TRACKS)], dtype=text)
        h5.create_dataset("assays", data=["TF"] * ALL_TRACKS, dtype=text)
        h5.create_dataset("cell_types", data=["X"] * ALL_TRACKS, dtype=text)
        h5.create_dataset("chroms", data=["chr1"], dtype=text)
        h5["chrom_index"] = np.zeros(N_WINDOWS, np.int32)
        h5["start"] = starts
        h5["split"] = np.zeros(N_WINDOWS, np.uint8)
        y = h5.create_dataset(
            "y", (N_WINDOWS, ALL_TRACKS), np.uint8, chunks=(4096, ALL_TRACKS), compression="gzip"
        )
        for begin in range(0, N_WINDOWS, 65_536):
            n = min(65_536, N_WINDOWS - begin)
            y[begin : begin + n] = rng.random((n, ALL_TRACKS), dtype=np.float32) < 0.02
        h5.attrs.update(bin_size=SIZE, window=WINDOW)
    times, reads, cpu = [], [], []
    for _ in range(3):
        started = time.perf_counter()
        read_chromosome(genome, "chr1")
        reads.append(time.perf_counter() - started)
        started, cpu_started = time.perf_counter(), time.process_time()
        write_split_file(genome, folder / "labels.h5", "train", folder / "train.h5", threads=CORES)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    median, read = statistics.median(times), statistics.median(reads)
    cpu_2m = statistics.median(cpu) * DEEPSEA_WINDOWS / N_WINDOWS
    genome_read = read * sum(HG19.values()) / length
    windows = (median - read) * DEEPSEA_WINDOWS / N_WINDOWS
    size_gb = (folder / "train.h5").stat().st_size / 1e9
    print(
        f"encode {N_WINDOWS:,} windows x {WINDOW} bp (+ y of {ALL_TRACKS} tracks), "
        f"{CORES} threads: median {median:.1f} s, of which {read:.1f} s reading the 249 Mb "
        f"chromosome; {(N_WINDOWS / (median - read)):,.0f} windows/s after the read"
    )
    print(
        f"2.2M windows: {windows:.0f} s for windows + {genome_read:.0f} s reading all of hg19 = "
        f"{windows + genome_read:.0f} s; file {size_gb:.2f} GB for {N_WINDOWS:,} windows "
        f"(x deflate of random bases; raw x {N_WINDOWS * WINDOW * 4 / 1e9:.2f} GB)"
    )
    print(
        f"encode CPU time (all threads): median {statistics.median(cpu):.1f} s -> "
        f"{cpu_2m:.0f} CPU s for 2.2M windows, i.e. ~{cpu_2m / CORES:.0f} s on {CORES} idle cores"
    )


def main() -> None:
    print(f"cores visible: {os.cpu_count()} (shared with other work: timings are noisy)")
    folder = Path(tempfile.mkdtemp(prefix="bench_data_"))
    try:
        bench_labels(folder)
        for path in folder.iterdir():
            path.unlink()
        bench_encode(folder)
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
