"""Loading a saved `.keras` model: the package's one loader, always in Keras safe mode.

A `.keras` file can carry Python code (a `Lambda` layer's function) that runs when it is
loaded. Models come from users (train.init_from, a shared results folder), so every load goes
through `load_model`, which keeps Keras' safe mode on and turns a refusal, a missing file or a
file that is not a Keras archive into one InputError naming the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from seq2chrom.errors import InputError


def load_model(path: str | Path):
    """The uncompiled `keras.Model` saved at `path` (a `.keras` archive), loaded in safe mode.

    Raises InputError naming `path` when the file is missing, is not a Keras archive, or holds
    code (a Lambda layer) that safe mode refuses to run.
    """
    import keras

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "model not found", fix="train the model first, or correct the path")
    if not zipfile.is_zipfile(path):
        raise InputError(
            path,
            "not a Keras model archive (.keras is a zip file)",
            fix="give a model saved by seq2chrom train (model.keras)",
        )
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except ValueError as error:
        if "safe_mode" in str(error):
            raise InputError(
                path,
                "refused: the model holds Python code (a Lambda layer), which Keras' safe "
                "mode does not run",
                fix="use a model saved by seq2chrom train, whose layers are all built in",
            ) from None
        raise InputError(
            path, f"cannot load the model: {error}".splitlines()[0], fix="retrain the model"
        ) from None
