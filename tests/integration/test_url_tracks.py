"""Tracks given as http(s) URLs, fetched by the real Snakemake from an HTTP server on 127.0.0.1.

The server (Python's http.server in a thread) serves a folder of peak files, plus two broken
kinds of response: /cut/NAME announces NAME's full length and sends half of it, /gzcut/NAME
sends a complete response holding only the first half of a gzip file. The track sheet names
each peak file twice, once by URL and once by path: the label columns must be equal, the
cached download must be byte-identical and recorded with its MD5, and a second run fetches
nothing. A wrong URL, a truncated download and an MD5 mismatch each stop with one line naming
the URL, leave no partial file in resources/tracks/ and leave earlier results untouched.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.conftest import make_workdir, snakemake

pytestmark = pytest.mark.slow

LENGTHS = {"chr1": 20_000, "chr2": 10_000, "chr3": 10_000}
TARGET = "results/data/labels.h5"
CONFIG = """\
genome: genome.fa
tracks: config/tracks.tsv
seed: 1
bins: {size: 200, window: 1000, min_overlap: 0.5, select: all}
split: {test: [chr3], valid: [chr2]}
models: {danq: {preset: small}}
"""


class PeakHandler(SimpleHTTPRequestHandler):
    """Serves the peak folder; /cut/NAME and /gzcut/NAME break NAME as the module says."""

    def do_GET(self):
        if not self._send_broken(body=True):
            super().do_GET()

    def do_HEAD(self):
        if not self._send_broken(body=False):
            super().do_HEAD()

    def _send_broken(self, body: bool) -> bool:
        kind, _, name = self.path.lstrip("/").partition("/")
        if kind not in ("cut", "gzcut"):
            return False
        path = Path(self.directory) / name
        data = path.read_bytes()
        half = data[: len(data) // 2]
        self.send_response(200)
        self.send_header("Content-Length", str(len(data) if kind == "cut" else len(half)))
        self.send_header("Last-Modified", self.date_time_string(int(path.stat().st_mtime)))
        self.end_headers()
        if body:
            self.wfile.write(half)
        return True

    def log_message(self, format, *args):
        self.server.requests.append((self.command, self.path))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base URL, folder served, list of (method, path) requests so far)."""
    folder = tmp_path_factory.mktemp("served")
    httpd = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(PeakHandler, directory=str(folder))
    )
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", folder, httpd.requests
    httpd.shutdown()
    httpd.server_close()


def write_peaks(rng, n: int) -> str:
    lines = []
    for chrom, length in LENGTHS.items():
        starts = np.sort(rng.integers(0, length - 600, n))
        ends = starts + rng.integers(100, 600, n)
        lines += [f"{chrom}\t{s}\t{e}\tpeak\t0\t." for s, e in zip(starts, ends, strict=True)]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def built(server, tmp_path_factory):
    base, served, _ = server
    workdir = make_workdir(tmp_path_factory.mktemp("url_tracks"))
    rng = np.random.default_rng(3)
    genome = "".join(
        f">{chrom}\n" + "".join(rng.choice(list("ACGT"), length)) + "\n"
        for chrom, length in LENGTHS.items()
    )
    (workdir / "genome.fa").write_text(genome)
    files = {
        "ctcf.bed.gz": gzip.compress(write_peaks(rng, 10).encode()),
        "dnase.bed": write_peaks(rng, 14).encode(),
    }
    (workdir / "peaks").mkdir()
    for name, data in files.items():
        (served / name).write_bytes(data)
        (workdir / "peaks" / name).write_bytes(data)
    ctcf_md5 = hashlib.md5(files["ctcf.bed.gz"]).hexdigest()
    (workdir / "config" / "tracks.tsv").write_text(
        "name\tassay\tcell_type\tpath\tmd5\n"
        f"CTCF_url\tTF\tK562\t{base}/ctcf.bed.gz\t{ctcf_md5}\n"
        "CTCF_file\tTF\tK562\tpeaks/ctcf.bed.gz\t\n"
        f"DNase_url\tDNase\tK562\t{base}/dnase.bed\t\n"
        "DNase_file\tDNase\tK562\tpeaks/dnase.bed\t\n"
    )
    (workdir / "config" / "config.yaml").write_text(CONFIG)
    snakemake(workdir, TARGET)
    return workdir, base, files


def test_url_tracks_label_as_the_same_files_given_by_path(built):
    workdir, base, files = built
    with h5py.File(workdir / TARGET) as h5:
        names = list(h5["tracks"].asstr()[:])
        y = h5["y"][:]
    assert names == ["CTCF_url", "CTCF_file", "DNase_url", "DNase_file"]
    assert y[:, 0].sum() > 5 and y[:, 2].sum() > 5
    np.testing.assert_array_equal(y[:, 0], y[:, 1])
    np.testing.assert_array_equal(y[:, 2], y[:, 3])

    cache = workdir / "resources" / "tracks"
    assert sorted(p.name for p in cache.iterdir()) == [
        "CTCF_url.json", "CTCF_url.peaks", "DNase_url.json", "DNase_url.peaks"
    ]  # fmt: skip
    cached = [("CTCF_url", "ctcf.bed.gz", True), ("DNase_url", "dnase.bed", False)]
    for track, name, checked in cached:
        assert (cache / f"{track}.peaks").read_bytes() == files[name]
        assert json.loads((cache / f"{track}.json").read_text()) == {
            "url": f"{base}/{name}",
            "md5": hashlib.md5(files[name]).hexdigest(),
            "bytes": len(files[name]),
            "md5_checked": checked,
        }


def test_second_run_fetches_nothing_until_the_server_file_changes(built, server):
    workdir, base, _ = built
    requests = server[2]
    gets = [r for r in requests if r[0] == "GET"]
    assert sorted(gets) == [("GET", "/ctcf.bed.gz"), ("GET", "/dnase.bed")]
    result = snakemake(workdir, TARGET)
    assert "Nothing to be done" in result.stdout + result.stderr
    assert [r for r in requests if r[0] == "GET"] == gets

    served = server[1] / "dnase.bed"
    stat = served.stat()
    os.utime(served, (stat.st_atime + 3600, stat.st_mtime + 3600))  # Last-Modified moves on
    try:
        result = snakemake(workdir, "-n", TARGET)
        output = result.stdout + result.stderr
        assert "fetch_track        1" in output and "label              1" in output
        assert "track=DNase_url" in output
    finally:
        os.utime(served, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def results_state(workdir: Path) -> dict[Path, int]:
    return {
        path: path.stat().st_mtime_ns
        for folder in ("results", "resources")
        for path in (workdir / folder).rglob("*")
        if path.is_file()
    }


@pytest.mark.parametrize(
    "path, md5, where, message",
    [
        ("absent.bed", "", "output", "not found on the server (fix: correct the URL"),
        ("cut/dnase.bed", "", "output", "Failed to retrieve storage object from"),
        ("gzcut/ctcf.bed.gz", "", "log", "truncated or corrupt gzip download"),
        ("dnase.bed", "0" * 32, "log", "the track sheet's md5 column says 00000000"),
    ],
    ids=["404", "truncated", "cut-gzip", "md5-mismatch"],
)
def test_bad_download_fails_with_one_line_naming_the_url(built, path, md5, where, message):
    workdir, base, _ = built
    sheet = workdir / "config" / "tracks.tsv"
    original = sheet.read_text()
    before = results_state(workdir)
    url = f"{base}/{path}"
    try:
        sheet.write_text(original + f"Bad\tTF\tK562\t{url}\t{md5}\n")
        result = snakemake(workdir, TARGET, check=False)
        assert result.returncode != 0
        if where == "log":
            text = (workdir / "logs" / "fetch_track" / "Bad.log").read_text()
        else:
            text = result.stdout + result.stderr
        errors = [line for line in text.splitlines() if url in line and message in line]
        assert len(errors) == 1, text[-3000:]
        if path.startswith("cut/"):  # Snakemake's message; the next line gives the cause
            assert "IncompleteRead" in text
        assert results_state(workdir) == before  # nothing new, nothing rewritten
        storage = workdir / ".snakemake" / "storage"  # the plugin's local copies
        assert not [file for file in storage.rglob("*") if file.is_file()]
    finally:
        sheet.write_text(original)


def test_sheet_without_md5_column_and_unsupported_urls(built):
    workdir, base, _ = built
    sheet = workdir / "config" / "tracks.tsv"
    original = sheet.read_text()
    rows = [line.rsplit("\t", 1)[0] for line in original.splitlines()]  # drop the md5 column
    try:
        sheet.write_text("\n".join([*rows, f"DNase_again\tDNase\tK562\t{base}/dnase.bed"]) + "\n")
        result = snakemake(workdir, "-n", "-p", TARGET)
        assert "--md5= --out-peaks resources/tracks/DNase_again.peaks" in result.stdout

        sheet.write_text(original + "FTP\tTF\tK562\tftp://127.0.0.1/a.bed\t\n")
        result = snakemake(workdir, "-n", TARGET, check=False)
        assert result.returncode != 0
        message = "tracks.tsv: unsupported URL(s) ['ftp://127.0.0.1/a.bed'] (fix: give http://"
        assert message in result.stdout + result.stderr
    finally:
        sheet.write_text(original)
