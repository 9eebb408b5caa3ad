"""The commands' plain functions (vae_design/runs/) called from Python with dataclasses built by hand, without Hydra:
the same files, figures and printed lines as the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.cli.conftest import tiny_overrides
from vae_design.cli.main import main
from vae_design.data.settings import DataSettings, SplitSettings
from vae_design.errors import InputError
from vae_design.models.semi import PRESETS
from vae_design.models.settings import ModelSettings
from vae_design.runs.featurize import FeaturizeRun, featurize
from vae_design.runs.predict import PredictRun, predict
from vae_design.runs.train import TrainRun, settings_record, train
from vae_design.runs.update import UpdateRun
from vae_design.training.settings import LoggerSettings, TrainerSettings


def test_predict_and_featurize_from_python_match_the_command_line(trained_run, tmp_path, capsys):
    bundle = str(trained_run / "model")
    line = predict(PredictRun(formula="CoCrFeMnNi"), tmp_path / "unused", bundle=bundle)
    assert main(["predict", f"bundle={bundle}", "formula=CoCrFeMnNi"]) == 0
    assert capsys.readouterr().out.strip() == line and line.startswith("CoCrFeMnNi: P(single phase) ")
    assert not (tmp_path / "unused").exists()  # one formula: printed, nothing written

    source = tmp_path / "alloys.csv"
    source.write_text("formula\nCoCrFeNi\nAl0.5CoCrFeNi\n")
    text = featurize(FeaturizeRun(input=str(source)), tmp_path / "python")
    assert main(["featurize", f"input={source}", f"hydra.run.dir={tmp_path / 'cli'}"]) == 0
    written = (tmp_path / "python" / "descriptors.csv").read_text()
    assert written == (tmp_path / "cli" / "descriptors.csv").read_text()
    assert text == f"wrote 2 alloys x 9 descriptors to {tmp_path / 'python' / 'descriptors.csv'}"
    assert not (tmp_path / "python" / ".hydra").exists() and (tmp_path / "cli" / ".hydra" / "config.yaml").is_file()


def test_train_from_python_gives_the_command_lines_figures(trained_run, alloy_files, tmp_path):
    # the settings tiny_overrides gives the command line, as dataclasses
    assert "trainer.max_epochs=2" in tiny_overrides(alloy_files)
    data = DataSettings(source="csv", **alloy_files)
    text = train(
        TrainRun(seed=0),
        tmp_path / "run",
        data=data,
        split=SplitSettings(seed=0),
        model=ModelSettings(hidden=16, embedding_hidden=16),
        prior="literature",
        semi=PRESETS["consistency"],
        trainer=TrainerSettings(max_epochs=2, progress_bar=False, lr_schedule="constant"),
        logger=LoggerSettings(),
    )
    assert text.startswith("trained on ") and "metrics.json" in text
    ours = json.loads((tmp_path / "run" / "metrics.json").read_text())
    theirs = json.loads((trained_run / "metrics.json").read_text())
    for key in ("test/auc", "test/log_loss", "val/log_loss", "recon/mae_present", "n/train", "n/unlabelled"):
        assert ours[key] == theirs[key], key
    # without a caller's record the settings are recorded all the same: update reads the bundle's trainer settings
    recorded = yaml.safe_load((tmp_path / "run" / "model" / "config.yaml").read_text())
    assert recorded["trainer"]["max_epochs"] == 2 and recorded["model"]["hidden"] == 16 and recorded["seed"] == 0
    assert recorded["data"]["labelled"] == alloy_files["labelled"] and recorded["prior"] == "literature"


def test_a_required_value_left_out_in_python_is_a_one_line_error():
    with pytest.raises(InputError, match=r"^input=FILE.csv is required"):
        FeaturizeRun()
    with pytest.raises(InputError, match=r"^results=FILE.csv is required"):
        UpdateRun(results=" ")
    with pytest.raises(InputError, match=r"^bundle must be a folder path, got 5"):
        predict(PredictRun(formula="Fe"), "out", bundle=5)


def test_the_settings_record_holds_what_json_cannot_and_logger_off(tmp_path):
    # made before training, so that a value YAML cannot hold fails at once and not after the fit
    record = settings_record(
        {"seed": np.int64(3), "data": DataSettings(source="csv", path=Path("a.csv")), "logger": None}
    )
    record(tmp_path)
    written = yaml.safe_load((tmp_path / ".hydra" / "config.yaml").read_text())
    assert written["seed"] == 3 and written["data"]["path"] == "a.csv" and written["data"]["source"] == "csv"
    assert written["logger"] == {"loggers": []}  # as logger=none records it, so that update keeps logging off
