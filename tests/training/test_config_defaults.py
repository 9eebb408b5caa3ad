"""The CLI's YAML defaults and the Python API's defaults are one set of numbers: a change to one must reach both."""

from __future__ import annotations

import dataclasses
import inspect

import yaml

from vae_design.api import AlloyVAE
from vae_design.resources import config_dir
from vae_design.training.fit import TrainingSettings


def _yaml(group: str) -> dict:
    return yaml.safe_load((config_dir() / group / "default.yaml").read_text(encoding="utf-8"))


def test_model_yaml_matches_alloyvae_defaults():
    defaults = {k: p.default for k, p in inspect.signature(AlloyVAE).parameters.items()}
    for key, value in _yaml("model").items():
        expected = list(defaults[key]) if isinstance(value, list) else defaults[key]
        assert value == expected, f"configs/model/default.yaml {key}={value!r}, AlloyVAE default {defaults[key]!r}"


def test_trainer_yaml_matches_training_settings():
    defaults = {f.name: f.default for f in dataclasses.fields(TrainingSettings)}
    for key, value in _yaml("trainer").items():
        assert value == defaults[key] or float(value) == defaults[key], f"trainer.{key}: {value!r} vs {defaults[key]!r}"


def test_weak_and_pretrain_yaml_match_their_settings_defaults():
    from vae_design.data.weak_labels import WeakLabelling
    from vae_design.training.pretrain import Pretraining

    for group, option, settings in (("weak", "rules", WeakLabelling), ("pretrain", "descriptors", Pretraining)):
        values = yaml.safe_load((config_dir() / group / f"{option}.yaml").read_text(encoding="utf-8"))
        defaults = {f.name: f.default for f in dataclasses.fields(settings)}
        assert set(values) == set(defaults), f"configs/{group}/{option}.yaml"
        for key, value in values.items():
            expected = list(defaults[key]) if isinstance(value, list) else defaults[key]
            assert value == expected, f"configs/{group}/{option}.yaml {key}={value!r}, default {defaults[key]!r}"
        none = yaml.safe_load((config_dir() / group / "none.yaml").read_text(encoding="utf-8"))
        assert none is None, f"configs/{group}/none.yaml must stay empty (it means: off)"


def test_the_default_semi_option_is_the_semi_supervision_default():
    from vae_design.models.semi import METHODS, SemiSupervision

    train = yaml.safe_load((config_dir() / "train.yaml").read_text(encoding="utf-8"))
    chosen = next(entry["semi"] for entry in train["defaults"] if isinstance(entry, dict) and "semi" in entry)
    values = yaml.safe_load((config_dir() / "semi" / f"{chosen}.yaml").read_text(encoding="utf-8"))
    assert SemiSupervision(**values) == SemiSupervision()
    for method in METHODS:  # every method has its option file, and each file builds
        option = yaml.safe_load((config_dir() / "semi" / f"{method}.yaml").read_text(encoding="utf-8"))
        assert SemiSupervision(**option).method == method
