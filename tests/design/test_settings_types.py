"""Settings of the wrong type from the Python API are one-line InputErrors (Hydra checks the CLI's): generate's
groups, the inspect settings and the model's sizes; numpy integers are whole numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vae_design.api import AlloyVAE
from vae_design.design.settings import ConstraintSettings, GenerateSettings, LatentSettings
from vae_design.errors import InputError
from vae_design.inspect.settings import InspectRun, InspectSettings
from vae_design.models.settings import ModelSettings

GENERATE = [
    ({"n": 2.5}, "n must be a whole number, got 2.5"),
    ({"n": "10"}, "n must be a whole number, got '10'"),
    ({"n": True}, "n must be a whole number, got True"),
    ({"seed": 1.5}, "seed must be a whole number, got 1.5"),
    ({"target": "1"}, "target must be a whole number, got '1'"),
    ({"plots": "yes"}, "plots must be true or false, got 'yes'"),
    ({"resume": 1}, "resume must be true or false, got 1"),
    ({"latent": {"temperature": "abc"}}, "latent.temperature must be a number, got 'abc'"),
    ({"latent": {"temperature": math.inf}}, "latent.temperature must be a number, got inf"),
    ({"latent": {"span": True}}, "latent.span must be a number, got True"),
    ({"latent": {"guide_steps": 1.5}}, "latent.guide_steps must be a whole number, got 1.5"),
    ({"latent": {"guide_steps": 2.0}}, "latent.guide_steps must be a whole number, got 2.0"),
    ({"latent": {"limit": "many"}}, "latent.limit must be a whole number, got 'many'"),
    ({"latent": {"deduplicate": "no"}}, "latent.deduplicate must be true or false, got 'no'"),
    ({"constraints": {"min_elements": 4.5}}, "constraints.min_elements must be a whole number, got 4.5"),
    ({"constraints": {"grid": "abc"}}, "constraints.grid must be a number, got 'abc'"),
    ({"constraints": {"min_fraction": math.nan}}, "constraints.min_fraction must be a number, got nan"),
    ({"constraints": {"precious": "no"}}, "constraints.precious must be true or false, got 'no'"),
    ({"screen": {"chunk": 1.5}}, "screen.chunk must be a whole number, got 1.5"),
    ({"screen": {"spread": "abc"}}, "screen.spread must be a number, got 'abc'"),
    ({"screen": {"per_element_set": 0}}, "screen.per_element_set must be true or false, got 0"),
    ({"invert": {"steps": 2.5}}, "invert.steps must be a whole number, got 2.5"),
    ({"invert": {"pull": None}}, "invert.pull must be a number, got None"),
    ({"scoring": {"shipped_datasets": "no"}}, "scoring.shipped_datasets must be true or false, got 'no'"),
    ({"scoring": {"posterior_samples": 64.0}}, "scoring.posterior_samples must be a whole number, got 64.0"),
    ({"scoring": {"novel_above": "abc"}}, "scoring.novel_above must be a number, got 'abc'"),
]


@pytest.mark.parametrize(("values", "message"), GENERATE)
def test_generate_settings_of_the_wrong_type_are_one_line_errors(values, message):
    with pytest.raises(InputError) as error:
        GenerateSettings.of(**values)
    assert str(error.value) == message


# AlloyVAE.generate takes every setting but plots and resume (the CLI's output options)
@pytest.mark.parametrize(("values", "message"), [case for case in GENERATE if not {"plots", "resume"} & set(case[0])])
def test_alloy_vae_generate_reports_them_before_any_work(values, message):
    model = AlloyVAE()
    model.vae = object()  # never reached: the settings are refused first
    with pytest.raises(InputError) as error:
        model.generate(**values)
    assert str(error.value) == message


def test_numpy_scalars_are_accepted_and_stored_as_python_numbers():
    settings = GenerateSettings.of(
        n=np.int64(5),
        seed=np.int32(3),
        constraints={"min_elements": np.int64(4), "grid": np.float32(1.0), "min_fraction": 5},
        latent={"guide_steps": np.int16(0), "temperature": np.float64(1.5)},
        invert={"steps": np.uint8(7)},
        scoring={"posterior_samples": np.int64(8)},
    )
    assert settings.n == 5 and type(settings.n) is int
    assert type(settings.seed) is int and settings.seed == 3
    assert type(settings.constraints.min_elements) is int
    assert type(settings.constraints.grid) is float and type(settings.constraints.min_fraction) is float
    assert type(settings.latent.guide_steps) is int and settings.latent.temperature == 1.5
    assert type(settings.invert.steps) is int and settings.invert.steps == 7
    assert type(settings.scoring.posterior_samples) is int


def test_ranges_are_still_checked_after_the_types():
    with pytest.raises(InputError, match=r"^latent\.guide_steps must be at least 0, got -1$"):
        LatentSettings(guide_steps=np.int64(-1))
    with pytest.raises(InputError, match=r"^n must be at least 1, got 0$"):
        GenerateSettings.of(n=0)


@pytest.mark.parametrize(
    ("value", "names"),
    [(5, ("5",)), ("Co", ("Co",)), (["Co", "Ni"], ("Co", "Ni")), (None, ()), (np.int64(3), ("3",))],
)
def test_a_single_value_is_a_one_item_list_of_names(value, names):
    assert ConstraintSettings(forbidden=value).forbidden == names


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"level": "x"}, "inspect.level must be a number, got 'x'"),
        ({"level": 1.5}, "inspect.level must be between 0 and 1, got 1.5"),
        ({"shap_alloys": 2.5}, "inspect.shap_alloys must be a whole number, got 2.5"),
        ({"formula_bootstrap": "20"}, "inspect.formula_bootstrap must be a whole number, got '20'"),
        ({"seed": True}, "inspect.seed must be a whole number, got True"),
        ({"prune_share": "abc"}, "inspect.prune_share must be a number, got 'abc'"),
        ({"formula_ratios": "no"}, "inspect.formula_ratios must be true or false, got 'no'"),
        ({"traversal_axes": 1.5}, "inspect.traversal_axes must be a whole number of at least 1 or null, got 1.5"),
        ({"traversal_axes": "2"}, "inspect.traversal_axes must be a whole number of at least 1 or null, got '2'"),
        ({"traversal_axes": 0}, "inspect.traversal_axes must be a whole number of at least 1 or null, got 0"),
    ],
)
def test_inspect_settings_of_the_wrong_type_are_one_line_errors(values, message):
    with pytest.raises(InputError) as error:
        InspectSettings(**values)
    assert str(error.value) == message


def test_inspect_numpy_integers_and_run_seed():
    settings = InspectSettings(shap_alloys=np.int64(10), traversal_axes=np.int32(2), level=np.float32(0.5))
    assert type(settings.shap_alloys) is int and type(settings.traversal_axes) is int and settings.level == 0.5
    assert InspectSettings(traversal_axes=None).traversal_axes is None
    with pytest.raises(InputError, match=r"^seed must be a whole number, got 1\.5$"):
        InspectRun(seed=1.5)
    assert type(InspectRun(seed=np.int64(4)).seed) is int


def test_model_sizes_accept_numpy_integers_only():
    settings = ModelSettings(z_dim=np.int64(8), hidden=np.int32(64))
    assert settings.z_dim == 8 and type(settings.z_dim) is int and type(settings.hidden) is int
    for value in (8.0, 8.5, True, "8"):
        with pytest.raises(InputError) as error:
            ModelSettings(z_dim=value)
        assert str(error.value) == f"model.z_dim must be a whole number >= 1, got {value!r}"
