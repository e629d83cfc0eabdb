"""training/scratch.py: split files copied to local scratch once per job, atomically."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from seq2chrom.cli import EXIT_INPUT, main
from seq2chrom.errors import InputError
from seq2chrom.training import scratch as scratch_module
from seq2chrom.training.scratch import scratch_folder, stage_to_scratch


@pytest.fixture
def splits(tmp_path) -> list[Path]:
    """Two small 'split files' on the 'shared' file system, with distinct contents."""
    shared = tmp_path / "shared"
    shared.mkdir()
    paths = [shared / "train.h5", shared / "valid.h5"]
    paths[0].write_bytes(bytes(range(256)) * 40)  # 10240 bytes
    paths[1].write_bytes(b"valid" * 100)
    return paths


def test_stage_copies_each_file_and_returns_the_copies(splits, tmp_path):
    folder = tmp_path / "lscratch"
    folder.mkdir()
    staged = stage_to_scratch(splits, folder)
    assert staged == [folder / "train.h5", folder / "valid.h5"]
    for source, copy in zip(splits, staged, strict=True):
        assert copy.read_bytes() == source.read_bytes()
        assert copy.stat().st_mtime_ns == source.stat().st_mtime_ns
    assert sorted(p.name for p in folder.iterdir()) == ["train.h5", "valid.h5"]  # no temporaries


def test_a_second_call_copies_nothing_but_a_changed_source_is_copied_again(splits, tmp_path):
    folder = tmp_path / "lscratch"
    folder.mkdir()
    first = stage_to_scratch(splits, folder)
    # Mark the copy: same size and mtime, other bytes. Kept only if it is not copied again.
    stat = first[0].stat()
    first[0].write_bytes(b"\xff" * stat.st_size)
    os.utime(first[0], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert stage_to_scratch(splits, folder) == first  # a requeue on the same node
    assert first[0].read_bytes() == b"\xff" * stat.st_size
    # A newer source (same size, later mtime) replaces the copy.
    source = splits[0].stat()
    os.utime(splits[0], ns=(source.st_atime_ns, source.st_mtime_ns + 10**9))
    stage_to_scratch(splits, folder)
    assert first[0].read_bytes() == splits[0].read_bytes()


def test_a_failed_copy_leaves_no_partial_file(splits, tmp_path, monkeypatch):
    folder = tmp_path / "lscratch"
    folder.mkdir()

    def half_then_full_disk(source, target):  # what a full local disk does mid-copy
        Path(target).write_bytes(Path(source).read_bytes()[:100])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(scratch_module.shutil, "copyfile", half_then_full_disk)
    with pytest.raises(InputError) as error:
        stage_to_scratch(splits, folder)
    assert str(folder) in str(error.value) and "lscratch:N" in str(error.value)
    assert list(folder.iterdir()) == []
    monkeypatch.undo()
    assert stage_to_scratch(splits, folder)[0].read_bytes() == splits[0].read_bytes()


def test_two_files_with_one_name_are_refused(splits, tmp_path):
    other = tmp_path / "other" / "train.h5"
    other.parent.mkdir()
    other.write_bytes(b"x")
    with pytest.raises(InputError, match="share a name"):
        stage_to_scratch([splits[0], other], tmp_path)


def test_scratch_folder_expands_variables_and_names_a_missing_folder(tmp_path, monkeypatch):
    assert scratch_folder("") is None
    (tmp_path / "42").mkdir()
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("ROOT", str(tmp_path))
    assert scratch_folder("$ROOT/$SLURM_JOB_ID") == tmp_path / "42"
    monkeypatch.delenv("SLURM_JOB_ID")
    with pytest.raises(InputError, match="unset environment variable"):
        scratch_folder("$ROOT/$SLURM_JOB_ID")
    with pytest.raises(InputError) as error:
        scratch_folder(str(tmp_path / "missing"))
    assert str(error.value).startswith(f"{tmp_path / 'missing'}: --scratch folder not found")
    assert "(fix: " in str(error.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to any folder")
def test_scratch_folder_refuses_an_unwritable_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    with pytest.raises(InputError, match="not writable"):
        scratch_folder(str(folder))


def test_train_has_a_scratch_option_and_stops_in_one_line_on_a_missing_folder(
    splits, tmp_path, monkeypatch, capsys
):
    usage = subprocess.run(
        [Path(sys.executable).parent / "seq2chrom", "train", "--help"],
        capture_output=True,
        text=True,
    )
    assert usage.returncode == 0 and "--scratch DIR" in usage.stdout
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    missing = tmp_path / "lscratch" / "123"
    argv = ["train", "--model", "deepsea", "--train", str(splits[0]), "--valid", str(splits[1])]
    argv += ["--out-dir", str(tmp_path / "model"), f"--scratch={missing}"]
    assert main(argv) == EXIT_INPUT
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message.startswith(f"seq2chrom train: error: {missing}: --scratch folder not found")
    assert not (tmp_path / "model").exists()
