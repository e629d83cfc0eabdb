"""Data build at hg19 scale: a synthetic 3.1 Gb genome and 919 tracks through the real workflow.

`make bench-scale` (`python -m tests.bench scale`; never part of `make bench` or CI). Writes in a
scratch folder (`SCALE_DIR`, default a temporary folder removed afterwards):
- genome.fa: chromosomes with hg19's names and lengths (chr1..chr22, chrX, chrY) times
  `SCALE_FRACTION` (default 1.0), streamed one block of lines at a time from a seeded RNG (the
  genome is never held in memory): random bases at hg19's 41% GC, half of them soft-masked in
  300 bp runs, and N runs where hg19 has its large gaps (telomeres, centromeres, the short arms
  of the acrocentric chromosomes, chrY's heterochromatin; positions approximate);
- 919 gzipped narrowPeak files named after the DeepSEA targets (workflow/seq2chrom/resources/
  deepsea_919_targets.tsv) with ENCODE-like counts and widths per assay: TF 10k-100k peaks of
  ~300 bp, DNase 50k-200k of ~250 bp, histone marks 10k-60k of ~1.5 kb (log-uniform counts,
  log-normal widths). Peaks fall mostly on a shared pool of regulatory sites, a few of them
  used by many tracks, so that the bins positive for at least one TF (`bins.select:
  tf_positive`, DeepSEA's rule) are a realistic ~2-3M of the ~15M bins, not nearly all of them;
- tracks.tsv and config/config.yaml: the default config with DeepSEA's split (test chr8 and
  chr9, validation chr7:30,508,751-35,296,850) and `bins.select: tf_positive`.

Then runs `snakemake --cores 2` on the data targets only (results/data/{train,valid,test}.h5
and summary) and prints, from Snakemake's `benchmark:` files, wall time (s) and peak memory
(max_rss) per step, label jobs summed and their maximum, plus the run's wall time and the disk
size of the outputs. `SCALE_FRACTION=0.02` is a quick check of the whole path (minutes).
Snakemake samples a job every 0.5 s for its first 15 s, then every 30 s, so its max_rss can miss
a long job's peak and its cpu_time undercounts short jobs; peak_rss_MB_polled is this script's
own poll of every job every 0.5 s. RSS includes file-backed pages: `encode` of the training split
memory-maps the genome, and most of its RSS is the genome's page cache, which the kernel can
drop (measured at full scale: 0.8 GB private, 2.7 GB file-backed).
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import yaml

from tests.bench.bench_data import HG19

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TARGETS_TABLE = REPO / "workflow/seq2chrom/resources/deepsea_919_targets.tsv"
# Approximate hg19 gaps as fractions of the chromosome: the unsequenced short arms of the
# acrocentric chromosomes (from 0), and chrY's heterochromatic block.
ARM_GAP = {"chr13": 0.165, "chr14": 0.177, "chr15": 0.195, "chr21": 0.196, "chr22": 0.313}
CENTROMERE = 0.4  # centromere gap position, as a fraction of the length (3 Mb in hg19)
TELOMERE, CENTROMERE_GAP, LINE = 10_000, 3_000_000, 60
# (low, high) peak counts (log-uniform) and (median, sigma) of log-normal widths, per assay
PEAKS = {"TF": (10_000, 100_000, 300, 0.4), "DNase": (50_000, 200_000, 250, 0.3)}
PEAKS["Histone"] = (10_000, 60_000, 1_500, 0.8)
POOL_SITES = 1_000_000  # shared regulatory sites at full scale
BACKGROUND = 0.04  # fraction of a track's peaks placed anywhere instead of on the pool
SEED = 17
CORES = 2
DEEPSEA_BINS = 2_200_000 + 4_000 + 227_512  # train, valid, test bins of the DeepSEA bundle
STEPS = ("genome", "tile", "label", "assemble", "encode", "data_summary")
SUBCOMMANDS = {"data_summary": "data-summary"}  # step -> `seq2chrom` subcommand, where they differ


def chromosome_lengths(fraction: float) -> dict[str, int]:
    """hg19's chromosomes with lengths scaled by `fraction` (at least 100 kb each)."""
    return {name: max(100_000, int(length * fraction)) for name, length in HG19.items()}


def gaps(name: str, length: int, fraction: float) -> list[tuple[int, int]]:
    """N runs of one chromosome: sorted, disjoint [start, end) in bp."""
    telomere = max(1_000, int(TELOMERE * fraction))
    runs = [(0, telomere), (length - telomere, length)]
    if name in ARM_GAP:
        runs.append((telomere, int(ARM_GAP[name] * length)))
    else:
        middle = int(CENTROMERE * length)
        runs.append((middle, middle + int(CENTROMERE_GAP * fraction)))
    if name == "chrY":
        runs.append((int(0.485 * length), int(0.995 * length)))
    runs.sort()
    merged = [runs[0]]
    for start, end in runs[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def write_genome(path: Path, lengths: dict[str, int], fraction: float, seed: int) -> int:
    """Stream a FASTA of 60 bp lines, one block of lines at a time; returns the N count."""
    rng = np.random.default_rng(seed)
    # 256-entry table: 105 of 256 entries G or C, i.e. 41.0% GC (hg19: 40.9%)
    table = np.frombuffer(b"A" * 75 + b"T" * 76 + b"G" * 52 + b"C" * 53, np.uint8)
    block = LINE << 18  # bases per write (15.7 Mb), whole lines
    unknown = 0
    with open(path, "wb") as handle:
        for name, length in lengths.items():
            handle.write(f">{name}\n".encode())
            runs = gaps(name, length, fraction)
            for begin in range(0, length, block):
                end = min(begin + block, length)
                bases = table[rng.integers(0, 256, end - begin, dtype=np.uint8)]
                # soft-masked (lowercase) runs of 300 bp, as repeats are in hg19
                masked = np.repeat(rng.random((end - begin) // 300 + 1) < 0.5, 300)
                bases[masked[: end - begin]] |= 0x20
                for start, stop in runs:
                    if start < end and stop > begin:
                        bases[max(start, begin) - begin : min(stop, end) - begin] = ord("N")
                lines, rest = divmod(end - begin, LINE)
                body = np.empty((lines, LINE + 1), np.uint8)
                body[:, :LINE] = bases[: lines * LINE].reshape(lines, LINE)
                body[:, LINE] = ord("\n")
                handle.write(body.tobytes())
                if rest:
                    handle.write(bases[lines * LINE :].tobytes() + b"\n")
            unknown += sum(stop - start for start, stop in runs)
    return unknown


def sequenced(lengths: dict[str, int], fraction: float) -> tuple[list[str], np.ndarray]:
    """Segments between N runs: chromosome of each and (S, 2) int64 [start, end)."""
    names, bounds = [], []
    for name, length in lengths.items():
        edge = 0
        for start, end in gaps(name, length, fraction):
            if start > edge:
                names.append(name)
                bounds.append((edge, start))
            edge = end
        if edge < length:
            names.append(name)
            bounds.append((edge, length))
    return names, np.array(bounds, np.int64)


def place(segments: np.ndarray, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n positions uniform over the sequenced bases: (segment index (n,), position (n,))."""
    cumulative = np.cumsum(segments[:, 1] - segments[:, 0])
    offset = rng.integers(0, cumulative[-1], n)
    index = np.searchsorted(cumulative, offset, side="right")
    before = np.concatenate([[0], cumulative[:-1]])[index]
    return index, segments[index, 0] + offset - before


def write_tracks(
    folder: Path, lengths: dict[str, int], fraction: float, seed: int
) -> tuple[pd.DataFrame, int]:
    """919 gzipped narrowPeak files and tracks.tsv in `folder`; returns the sheet and peaks."""
    rng = np.random.default_rng(seed + 1)
    names, segments = sequenced(lengths, fraction)
    chrom_of = np.array(names)
    # The shared pool of regulatory sites; Zipf-like popularity (a few used by most tracks)
    pool_segment, pool_position = place(segments, rng, max(1_000, int(POOL_SITES * fraction)))
    weights = 1.0 / np.arange(1, pool_position.shape[0] + 1) ** 0.6
    cdf = np.cumsum(rng.permutation(weights))
    cdf /= cdf[-1]
    targets = pd.read_csv(TARGETS_TABLE, sep="\t", dtype=str)
    (folder / "peaks").mkdir(parents=True, exist_ok=True)
    rows, total = [], 0
    for track, assay, cell_type in targets[["track", "assay", "cell_type"]].itertuples(False):
        low, high, width, sigma = PEAKS[assay]
        n = max(100, int(np.exp(rng.uniform(np.log(low), np.log(high))) * fraction))
        n_background = rng.binomial(n, BACKGROUND)
        site = np.searchsorted(cdf, rng.random(n - n_background))
        anywhere_segment, anywhere = place(segments, rng, n_background)
        segment = np.concatenate([pool_segment[site], anywhere_segment])
        jitter = rng.normal(0, 30, site.shape[0]).astype(np.int64)
        center = np.concatenate([pool_position[site] + jitter, anywhere])
        widths = np.maximum(50, rng.lognormal(np.log(width), sigma, n)).astype(np.int64)
        # inside the peak's sequenced segment, as peak callers find no reads in N runs
        starts = np.clip(center - widths // 2, segments[segment, 0], segments[segment, 1] - 1)
        ends = np.minimum(starts + widths, segments[segment, 1])
        score = rng.integers(10, 1000, n)
        signal = np.round(rng.lognormal(2, 0.5, n), 2)
        lines = [
            f"{chrom}\t{start}\t{end}\t.\t{s}\t.\t{v}\t-1\t-1\t{(end - start) // 2}\n"
            for chrom, start, end, s, v in zip(
                chrom_of[segment].tolist(),
                starts.tolist(),
                ends.tolist(),
                score.tolist(),
                signal.tolist(),
                strict=True,
            )
        ]
        path = folder / "peaks" / f"{track}.narrowPeak.gz"
        with gzip.open(path, "wt", compresslevel=1) as handle:
            handle.writelines(lines)
        rows.append((track, assay, cell_type, str(path)))
        total += n
    sheet = pd.DataFrame(rows, columns=["name", "assay", "cell_type", "path"])
    sheet.to_csv(folder / "tracks.tsv", sep="\t", index=False)
    return sheet, total


def write_config(folder: Path, fraction: float) -> None:
    """config/config.yaml: the default config on the synthetic genome, DeepSEA's split (its
    validation region scaled with the genome)."""
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config.update(genome=str(folder / "genome.fa"), tracks=str(folder / "tracks.tsv"))
    config["bins"].update(select="tf_positive", blacklist="")
    valid = f"chr7:{int(30_508_751 * fraction):,}-{int(35_296_850 * fraction):,}"
    config["split"] = {"test": ["chr8", "chr9"], "valid": [valid]}
    config.update(variants={}, prediction_tracks={}, mutagenesis={})
    (folder / "config").mkdir(exist_ok=True)
    (folder / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


class PeakMemory(threading.Thread):
    """Peak RSS (bytes) of each `seq2chrom` job under process `pid`, polled every `interval` s.

    Snakemake's benchmark samples every 0.5 s only for a job's first 15 s, then every 30 s, and
    can miss the peak of a long job; this polls all along. Keys: (subcommand, --out value);
    ("snakemake", "") is Snakemake's own process.
    """

    def __init__(self, pid: int, interval: float = 0.5):
        super().__init__(daemon=True)
        self.root, self.interval = psutil.Process(pid), interval
        self.peak: dict[tuple[str, str], int] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in processes:
                try:
                    key = job_key(process.cmdline()) if process != self.root else ("snakemake", "")
                    rss = process.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                if key:
                    self.peak[key] = max(self.peak.get(key, 0), rss)


def job_key(argv: list[str]) -> tuple[str, str] | None:
    """(subcommand, --out value) of a `seq2chrom` process's argv; None for other processes."""
    for index, word in enumerate(argv[:-1]):
        if Path(word).name == "seq2chrom":
            out = argv[argv.index("--out") + 1] if "--out" in argv[:-1] else ""
            return argv[index + 1], out
    return None


def run_data_build(folder: Path) -> tuple[float, PeakMemory]:
    """`snakemake --cores 2` on the data targets in `folder`; returns wall s and peak memory."""
    targets = [f"results/data/{split}.h5" for split in ("train", "valid", "test")]
    targets += ["results/data/summary.tsv", "results/data/summary.html"]
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    command = [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile")]
    command += ["--directory", str(folder), "--cores", str(CORES), "--rerun-incomplete"]
    command += targets
    started = time.perf_counter()
    with open(folder / "snakemake.log", "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        memory = PeakMemory(process.pid)
        memory.start()
        returncode = process.wait()
        memory.done.set()
        memory.join()
    elapsed = time.perf_counter() - started
    if returncode != 0:
        tail = (folder / "snakemake.log").read_text()[-3000:]
        raise SystemExit(f"snakemake failed ({returncode}); log tail:\n{tail}")
    return elapsed, memory


def step_table(folder: Path, memory: PeakMemory) -> pd.DataFrame:
    """Per step from benchmarks/: jobs, wall s (sum, median, max over jobs), CPU s, Snakemake's
    max_rss (MB, max over jobs) and the polled peak RSS (MB, max over jobs)."""
    rows = []
    for step in STEPS:
        files = sorted((folder / "benchmarks" / step).glob("*.tsv"))
        if not files:
            continue
        frames = {path.stem: pd.read_csv(path, sep="\t") for path in files}
        polled = {
            out: rss
            for (command, out), rss in memory.peak.items()
            if command == SUBCOMMANDS.get(step, step)
        }
        groups = {step if len(files) == 1 else f"{step} ({len(files)} jobs)": list(frames)}
        if step == "encode":  # one row per split too: train dominates
            groups.update({f"  encode {name}": [name] for name in frames})
        for label, names in groups.items():
            frame = pd.concat([frames[name] for name in names])
            peaks = [
                rss
                for out, rss in polled.items()
                if len(names) == len(frames) or Path(out).stem in names
            ]
            rows.append(
                {
                    "step": label,
                    "wall_s": frame["s"].sum(),
                    "job_s_median": frame["s"].median(),
                    "job_s_max": frame["s"].max(),
                    "cpu_s": pd.to_numeric(frame["cpu_time"], errors="coerce").sum(),
                    "max_rss_MB": pd.to_numeric(frame["max_rss"], errors="coerce").max(),
                    "peak_rss_MB_polled": max(peaks, default=0) / 2**20,
                }
            )
    return pd.DataFrame(rows)


def disk_sizes(folder: Path) -> dict[str, float]:
    """GB per output: the genome copy, bins, labels/ (all tracks), labels.h5, split files."""
    results = folder / "results"
    sizes = {
        "input genome.fa": folder / "genome.fa",
        "input peaks/ (919 .gz)": folder / "peaks",
        "results/genome/": results / "genome",
        "results/data/bins.h5": results / "data/bins.h5",
        "results/labels/ (919 .npy)": results / "labels",
        "results/data/labels.h5": results / "data/labels.h5",
        **{f"results/data/{s}.h5": results / f"data/{s}.h5" for s in ("train", "valid", "test")},
    }
    return {name: folder_bytes(path) / 1e9 for name, path in sizes.items()}


def folder_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def check_disk(folder: Path, fraction: float) -> None:
    """Stop before writing when the folder's file system has less than the run needs."""
    needed = 14e9 * fraction + 0.5e9  # measured at full scale: ~12 GB, plus a margin
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise SystemExit(
            f"bench_scale: {folder} has {free / 1e9:.1f} GB free, the run needs about "
            f"{needed / 1e9:.1f} GB (fix: set SCALE_DIR to a larger file system or lower "
            "SCALE_FRACTION)"
        )


def main() -> None:
    fraction = float(os.environ.get("SCALE_FRACTION", "1.0"))
    chosen = os.environ.get("SCALE_DIR")
    folder = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="bench_scale_"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"scale: fraction {fraction}, folder {folder}, {os.cpu_count()} cores visible")
    check_disk(folder, fraction)
    try:
        measure(folder, fraction)
    finally:
        if not chosen:
            shutil.rmtree(folder, ignore_errors=True)


def measure(folder: Path, fraction: float) -> None:
    marker = folder / "inputs.done"
    if marker.is_file() and marker.read_text() == f"{fraction} {SEED}\n":
        # a finished or interrupted run's inputs: kept, so Snakemake resumes where it stopped
        print(f"inputs: kept from an earlier run ({marker})")
    else:
        write_inputs(folder, fraction)
        marker.write_text(f"{fraction} {SEED}\n")
    print(f"running the data build (`snakemake --cores {CORES}`; log {folder}/snakemake.log)")
    wall, memory = run_data_build(folder)
    report(folder, fraction, wall, memory)


def write_inputs(folder: Path, fraction: float) -> None:
    """The synthetic genome, peak files, track sheet and config in `folder`."""
    lengths = chromosome_lengths(fraction)
    started = time.perf_counter()
    unknown = write_genome(folder / "genome.fa", lengths, fraction, SEED)
    total = sum(lengths.values())
    print(
        f"genome: {len(lengths)} chromosomes, {total / 1e9:.3f} Gb ({unknown / 1e6:.0f} Mb N), "
        f"written in {time.perf_counter() - started:.0f} s"
    )
    started = time.perf_counter()
    sheet, peaks = write_tracks(folder, lengths, fraction, SEED)
    counts = sheet["assay"].value_counts().to_dict()
    print(
        f"tracks: {len(sheet)} ({counts}), {peaks / 1e6:.1f}M peaks, written in "
        f"{time.perf_counter() - started:.0f} s"
    )
    write_config(folder, fraction)


def report(folder: Path, fraction: float, wall: float, memory: PeakMemory) -> None:
    """Print samples, the per-step table, totals and disk sizes."""
    table = step_table(folder, memory)
    steps = table[~table["step"].str.startswith(" ")]
    summary = pd.read_csv(folder / "results/data/summary.tsv", sep="\t")
    samples = summary.iloc[0][["train", "valid", "test"]].astype(int).to_dict()
    print(
        f"samples (tf_positive): {samples} = {sum(samples.values()):,} "
        f"(DeepSEA: {DEEPSEA_BINS * fraction:,.0f} at this scale)"
    )
    print(table.to_string(index=False, float_format=lambda value: f"{value:,.1f}"))
    print(
        f"total: {wall / 60:.1f} min wall for the run ({steps['wall_s'].sum() / 60:.1f} min of "
        f"job time, {steps['cpu_s'].sum() / 60:.1f} min CPU, on {CORES} cores); peak memory "
        f"of any job {table['peak_rss_MB_polled'].max() / 2**10:.2f} GiB; Snakemake itself "
        f"{memory.peak.get(('snakemake', ''), 0) / 2**30:.2f} GiB"
    )
    sizes = disk_sizes(folder)
    for name, size in sizes.items():
        print(f"  {name}: {size:.2f} GB")
    print(f"disk: {sum(sizes.values()):.1f} GB in all")


if __name__ == "__main__":
    main()
