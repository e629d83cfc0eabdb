"""Peak files: headers, CRLF, gzip and empty files are read; each malformed case is one error."""

import gzip
import logging

import numpy as np
import pytest
from seq2chrom.data.peaks import merge_intervals, read_peaks
from seq2chrom.errors import InputError

SIZES = {"chr1": 1000, "chr2": 500}


def peaks_file(tmp_path, text, name="peaks.bed"):
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    return path


def test_bed_narrowpeak_with_headers_sorted_by_chrom_and_start(tmp_path):
    text = (
        "track name=ctcf\nbrowser position chr1:1-100\n# comment\n\n"
        "chr1\t500\t600\tp1\t0\t.\t5.0\t-1\t3.2\t50\n"  # narrowPeak
        "chr2\t10\t20\n"
        "chr1\t100\t150\tp2\t0\t+\n"
    )
    peaks = read_peaks(peaks_file(tmp_path, text), SIZES)
    assert sorted(peaks) == ["chr1", "chr2"]
    np.testing.assert_array_equal(peaks["chr1"].starts, [100, 500])
    np.testing.assert_array_equal(peaks["chr1"].ends, [150, 600])
    np.testing.assert_array_equal(peaks["chr2"].starts, [10])


def test_crlf_and_gzip(tmp_path):
    text = "track name=x\r\nchr1\t1\t5\r\nchr2\t7\t9\tname\r\n"
    peaks = read_peaks(peaks_file(tmp_path, text, "peaks.bed.gz"), SIZES)
    assert peaks["chr1"].ends.tolist() == [5] and peaks["chr2"].starts.tolist() == [7]


def test_space_separated_lines_are_accepted(tmp_path):
    peaks = read_peaks(peaks_file(tmp_path, "chr1 1 5\n"), SIZES)
    assert peaks["chr1"].starts.tolist() == [1]


@pytest.mark.parametrize(
    "text", ["", "track name=empty\n", "\n\n"], ids=["empty", "header", "blank"]
)
def test_empty_track_is_valid_with_a_warning(tmp_path, text, caplog):
    with caplog.at_level(logging.WARNING):
        assert read_peaks(peaks_file(tmp_path, text), SIZES) == {}
    assert "no peaks" in caplog.text


def test_peaks_past_chromosome_end_are_clipped(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        peaks = read_peaks(peaks_file(tmp_path, "chr2\t450\t520\nchr2\t600\t700\n"), SIZES)
    assert peaks["chr2"].ends.tolist() == [500, 500]
    assert peaks["chr2"].starts.tolist() == [450, 500]
    assert "clipped" in caplog.text


BAD_LINES = {
    "two-columns": ("chr1\t100\n", "2 column", "separate columns"),
    "one-column": ("chr1\n", "1 column", "separate columns"),
    "float-start": ("chr1\t1.5\t10\n", "start '1.5' is not an integer", "integer"),
    "text-end": ("chr1\t1\tten\n", "end 'ten' is not an integer", "integer"),
    "negative-start": ("chr1\t-5\t10\n", "start -5 is negative", "remove or correct"),
    "start-after-end": ("chr1\t20\t10\n", "start 20 > end 10", "swap"),
    "unknown-chromosome": (
        "chrUn_gl000220\t1\t10\n",
        "'chrUn_gl000220' is not in the genome",
        "use a genome with this chromosome",
    ),
}


@pytest.mark.parametrize("case", BAD_LINES, ids=list(BAD_LINES))
def test_malformed_line_is_one_line_error_naming_file_line_and_fix(tmp_path, case):
    line, message, fix = BAD_LINES[case]
    path = peaks_file(tmp_path, "track name=x\nchr1\t1\t2\n" + line)
    with pytest.raises(InputError) as error:
        read_peaks(path, SIZES)
    text = str(error.value)
    assert text.startswith(f"{path}:3: ")
    assert message in text and "(fix: " in text and fix in text
    assert "\n" not in text


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="absent.bed: file not found"):
        read_peaks(tmp_path / "absent.bed", SIZES)


def test_binary_file_is_rejected(tmp_path):
    path = tmp_path / "peaks.bed"
    path.write_bytes(b"chr1\t1\t2\n\xff\xfe\x00")
    with pytest.raises(InputError, match=":2: not a text file"):
        read_peaks(path, SIZES)


def test_without_genome_any_chromosome_is_accepted(tmp_path):
    assert list(read_peaks(peaks_file(tmp_path, "chrX\t1\t5000\n"))) == ["chrX"]


def test_merge_intervals_joins_overlapping_nested_and_bookended():
    starts = np.array([0, 5, 6, 20, 30, 40])
    ends = np.array([10, 8, 15, 30, 35, 40])
    merged = merge_intervals(starts, ends)
    assert merged[0].tolist() == [0, 20, 40] and merged[1].tolist() == [15, 35, 40]
