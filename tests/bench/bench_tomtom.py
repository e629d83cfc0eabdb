"""seq2chrom's Tomtom against MEME 5.4.1's `tomtom` on the published DanQ filters.

MEME (built by tests/reference/build_meme_tomtom.sh) runs ``-dist pearson -min-overlap 5`` on
every 5th DanQ filter (64 of 320, ~4 CPU minutes) against JASPAR2024 CORE vertebrates as
seq2chrom builds them; seq2chrom runs all 320 and the same 64. Printed: agreement (p-values,
q-values, offsets, strands, the E < 0.01 set) and CPU seconds per filter, both measured as CPU
time of one thread. `python -m tests.bench tomtom`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
EVERY = 5  # MEME on every 5th filter: 64 filters, about 4 minutes on the development machine


def main() -> None:
    from seq2chrom.motifs.jaspar import load_jaspar
    from seq2chrom.motifs.meme import read_meme, write_meme
    from seq2chrom.motifs.tomtom import compare_motifs

    from tests.unit.test_tomtom import DANQ, agreement, run_meme

    queries = read_meme(DANQ)
    subset = [m.id for m in queries[::EVERY]]
    with tempfile.TemporaryDirectory() as tmp:
        targets_path = Path(tmp) / "jaspar.meme"
        write_meme(targets_path, load_jaspar("JASPAR2024", "CORE", "vertebrates"))
        targets = read_meme(targets_path)

        compare_motifs(queries[:1], targets[:20])  # numba compilation, not timed
        started = time.process_time()
        ours_all = compare_motifs(queries, targets)
        all_seconds = time.process_time() - started
        started = time.process_time()
        ours = compare_motifs([m for m in queries if m.id in set(subset)], targets)
        our_seconds = time.process_time() - started
        n_all = sum(int((t["E-value"] < 0.01).any()) for t in ours_all)
        print(
            f"seq2chrom tomtom: {len(queries)} DanQ filters x {len(targets)} JASPAR motifs in "
            f"{all_seconds:.1f} CPU s ({all_seconds / len(queries) * 1000:.0f} ms/filter); "
            f"{n_all} filters with a match at E < 0.01"
        )

        build = subprocess.run(
            ["bash", str(TESTS / "reference" / "build_meme_tomtom.sh")],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHON": sys.executable},
        )
        if build.returncode != 0:
            print(f"MEME's tomtom not built, no comparison: {build.stderr.strip()[-300:]}")
            return
        binary = Path(build.stdout.strip().splitlines()[-1])
        meme, meme_seconds = run_meme(binary, DANQ, targets_path, subset)

    import pandas as pd

    stats = agreement(meme, pd.concat(ours))
    print(
        f"MEME 5.4.1 tomtom: {len(subset)} filters in {meme_seconds:.1f} CPU s "
        f"({meme_seconds / len(subset):.2f} s/filter); seq2chrom {our_seconds:.2f} CPU s: "
        f"x{meme_seconds / our_seconds:.0f} faster (goal >= 50)"
    )
    print(
        f"agreement on {stats['pairs']} filter-target pairs: max relative p-value difference "
        f"{stats['max_relative_p']:.1e} (goal < 1e-2; MEME prints 6 digits), q-value "
        f"{stats['max_relative_q']:.1e}; same offset {stats['same_Optimal_offset']:.2%}, "
        f"strand {stats['same_Orientation']:.2%}, overlap {stats['same_Overlap']:.2%}"
    )
    print(
        f"E < 0.01: {stats['significant_both']} pairs in both, "
        f"{stats['significant_only_ours']} only seq2chrom, {stats['significant_only_meme']} only "
        "MEME (goal 0 and 0)"
    )


if __name__ == "__main__":
    main()
