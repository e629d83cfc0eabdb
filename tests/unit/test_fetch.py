"""Checking a downloaded URL track (seq2chrom.data.fetch) and the `fetch-track` step."""

import gzip
import hashlib
import json

import pytest
from seq2chrom.cli import main
from seq2chrom.data.fetch import check_download, is_http_url
from seq2chrom.errors import InputError

URL = "https://example.org/files/ENCFF000AAA.bed.gz"
BED = b"track name=x\nchr1\t10\t50\tp\t0\t.\nchr2\t5\t9\tp\t0\t.\n"


def test_is_http_url():
    assert is_http_url(URL) and is_http_url("http://127.0.0.1:8000/a.bed")
    assert not is_http_url("ftp://example.org/a.bed")
    assert not is_http_url("https:///a.bed")  # no host
    assert not is_http_url("peaks/a.bed.gz")


@pytest.mark.parametrize("data", [BED, gzip.compress(BED), b""], ids=["plain", "gzip", "empty"])
def test_record_of_a_good_download(data):
    md5 = hashlib.md5(data).hexdigest()
    expected = {"url": URL, "md5": md5, "bytes": len(data)}
    assert check_download(URL, data) == expected
    assert check_download(URL, data, md5) == expected
    assert check_download(URL, data, md5.upper()) == expected


@pytest.mark.parametrize(
    "data, md5, message",
    [
        (BED, "0" * 32, f"MD5 {hashlib.md5(BED).hexdigest()}, the track sheet's md5 column says"),
        (gzip.compress(BED * 50)[:-30], "", "truncated or corrupt gzip download"),
        (b"\x1f\x8b" + b"\x00" * 40, "", "truncated or corrupt gzip download"),
        (b"<!DOCTYPE html><html>Sign in</html>", "", "an HTML or XML page, not a peak file"),
        (b"chr1\t10\t50\nchr1\t1\xff\n", "", "not a text file"),
        (b"chr1\t10\t50\nchr1\t10\n", "", "2 column(s)"),
    ],
    ids=["md5", "cut-gzip", "bad-gzip", "html", "binary", "cut-line"],
)
def test_bad_download_names_the_url(data, md5, message):
    with pytest.raises(InputError) as error:
        check_download(URL, data, md5)
    assert str(error.value).startswith(f"{URL}")
    assert message in str(error.value)
    assert "(fix: " in str(error.value) and "\n" not in str(error.value)


def fetch(tmp_path, data: bytes, md5: str = "") -> int:
    download = tmp_path / "download"
    download.write_bytes(data)
    cache = tmp_path / "resources" / "tracks"
    return main(["fetch-track", "--url", URL, "--download", str(download), f"--md5={md5}",
                 "--out-peaks", str(cache / "t.peaks"),
                 "--out-record", str(cache / "t.json")])  # fmt: skip


def test_fetch_track_copies_the_bytes_and_records_them(tmp_path):
    data = gzip.compress(BED)
    md5 = hashlib.md5(data).hexdigest()
    assert fetch(tmp_path, data, md5) == 0
    cache = tmp_path / "resources" / "tracks"
    assert sorted(p.name for p in cache.iterdir()) == ["t.json", "t.peaks"]
    assert (cache / "t.peaks").read_bytes() == data
    record = json.loads((cache / "t.json").read_text())
    assert record == {"url": URL, "md5": md5, "bytes": len(data), "md5_checked": True}
    assert fetch(tmp_path, BED) == 0
    assert json.loads((cache / "t.json").read_text())["md5_checked"] is False


def test_fetch_track_error_is_one_line_and_keeps_the_cache(tmp_path, capsys):
    assert fetch(tmp_path, BED) == 0
    cache = tmp_path / "resources" / "tracks"
    before = {p.name: p.read_bytes() for p in cache.iterdir()}
    capsys.readouterr()
    assert fetch(tmp_path, gzip.compress(BED * 50)[:-30]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"seq2chrom fetch-track: error: {URL}: truncated or corrupt gzip")
    assert (
        error.endswith("(fix: rerun to fetch it again; if that fails too, check the URL)")
        and "\n" not in error
    )
    assert {p.name: p.read_bytes() for p in cache.iterdir()} == before  # no temporaries
