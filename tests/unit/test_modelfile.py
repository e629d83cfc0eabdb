"""A model's stored track list against a data file's: one-line errors instead of misaligned
columns, in predict and in the motif step."""

from __future__ import annotations

from pathlib import Path

import keras
import pytest
import yaml
from seq2chrom.cli import main
from seq2chrom.errors import InputError
from seq2chrom.modelfile import check_model_tracks, model_tracks, track_difference
from seq2chrom.models import build_model

from tests.unit.training_data import planted_split

DATA = ["track0", "track1", "track2"]


def test_differences_are_named():
    assert track_difference(DATA, DATA) == ""
    assert track_difference(["track0", "track1"], DATA) == "1 data tracks not in the model (track2)"
    assert track_difference(DATA + ["old"], DATA) == "1 model tracks not in the data (old)"
    assert track_difference(["track1", "track0", "track2"], DATA) == (
        "same tracks in another order (column 0 is 'track1' in the model, 'track0' in the data)"
    )
    many = [f"new{i}" for i in range(7)]
    assert track_difference([], many).endswith("(new0, new1, new2, new3, new4, ...)")
    assert track_difference(DATA + ["track2"], DATA) == "4 tracks in the model, 3 in the data"
    assert track_difference(DATA + ["x"], DATA, names=("danq model", "deepsea model")) == (
        "1 danq model tracks not in the deepsea model (x)"
    )


def _saved_model(folder: Path, tracks: list[str] | None, n_outputs: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(3)
    model = build_model("deepsea", n_outputs, 100, "small", conv_filters=(8, 8, 8), pool_size=2)
    model.save(folder / "model.keras")
    if tracks is not None:
        (folder / "config.yaml").write_text(yaml.safe_dump({"model": "deepsea", "tracks": tracks}))
    return folder / "model.keras"


def test_matching_tracks_pass_and_others_stop_naming_both_files(tmp_path):
    path = _saved_model(tmp_path / "m", ["track0", "track2", "track1"])
    assert model_tracks(path) == ["track0", "track2", "track1"]
    check_model_tracks(path, 3, "valid.h5", ["track0", "track2", "track1"])
    with pytest.raises(InputError) as error:
        check_model_tracks(path, 3, "valid.h5", DATA)
    message = str(error.value)
    assert message.startswith(f"{path}: model tracks ({tmp_path / 'm' / 'config.yaml'}) differ")
    assert "valid.h5: same tracks in another order" in message and "(fix: " in message
    with pytest.raises(InputError, match="lists 3 tracks but .* has 4 outputs"):
        check_model_tracks(path, 4, "valid.h5", DATA)


def test_without_a_stored_list_only_the_output_count_is_checked(tmp_path):
    path = _saved_model(tmp_path, None)
    assert model_tracks(path) is None
    check_model_tracks(path, 3, "valid.h5", DATA)
    with pytest.raises(InputError, match="3 outputs but valid.h5 has 2 tracks"):
        check_model_tracks(path, 3, "valid.h5", DATA[:2])
    (tmp_path / "config.yaml").write_text("model: deepsea\n")
    with pytest.raises(InputError, match="no 'tracks' list"):
        model_tracks(path)


def test_predict_with_a_model_of_other_tracks_is_a_one_line_error(tmp_path, capsys):
    split = planted_split(tmp_path / "valid.h5", 20, seed=2)
    model = _saved_model(tmp_path / "base", ["track0", "track1", "CEBPB_K562"])
    out = tmp_path / "pred.h5"
    assert main(["predict", "--model", str(model), "--data", str(split), "--out", str(out)]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and str(model) in error[0] and str(split) in error[0]
    assert "1 data tracks not in the model (track2)" in error[0]
    assert "1 model tracks not in the data (CEBPB_K562)" in error[0]
    assert "fix: " in error[0] and not out.exists()


def test_motif_step_checks_the_tracks_too(tmp_path, capsys):
    split = planted_split(tmp_path / "test.h5", 40, seed=2)
    model = _saved_model(tmp_path / "m", ["track2", "track1", "track0"])
    outputs = [f"--out-{kind}" for kind in ("meme", "filters", "influence")]
    command = [
        "filter-pwms",
        "--model",
        str(model),
        "--data",
        str(split),
        "--max-sequences",
        "10",
        "--min-sites",
        "1",
        *[a for kind in outputs for a in (kind, str(tmp_path / kind))],
    ]
    assert main(command) == 1
    assert "same tracks in another order" in capsys.readouterr().err
