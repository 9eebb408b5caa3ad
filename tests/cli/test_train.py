"""`vae-design train`: the run folder contract (metrics.json, model bundle, plots), resume, every config group
option, the reference experiment, and bad settings (one line, exit 2, nothing written)."""

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from hydra import compose, initialize_config_dir

from tests.cli.conftest import tiny_overrides, write_alloy_files
from vae_design import AlloyVAE
from vae_design.cli.main import config_dir, main
from vae_design.cli.settings import command_settings
from vae_design.runs.train import TrainRun
from vae_design.runs.train import build_model as model_of_groups


def build_model(cfg):
    """The untrained model `vae-design train` builds from a composed train config."""
    return model_of_groups(**command_settings(cfg, TrainRun, "train")[1])


METRIC_KEYS = [
    f"{part}/{name}"
    for part in ("val", "test")
    for name in ("accuracy", "auc", "balanced_accuracy", "f1", "log_loss", "ece")
] + [
    "recon/element_set_exact",
    "recon/mae_present",
    "recon/mae_all",
    "latent/probe_auc_nuisance",
    "latent/probe_auc_nuisance_nonlinear",
    "latent/mutual_information_nuisance",
    "latent/probe_auc_target",
    "latent/target_classifier_auc",
    "counterfactual/distance",
    "train/seconds",
    "train/best_epoch_generative",
    "n/train",
    "n/unlabelled",
    "n/val",
    "n/test",
]


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_train_writes_metrics_model_and_plots(trained_run):
    metrics = json.loads((trained_run / "metrics.json").read_text())
    missing = [key for key in METRIC_KEYS if key not in metrics]
    assert not missing
    assert all(math.isfinite(metrics[key]) for key in METRIC_KEYS)
    assert metrics["n/train"] == 80 and metrics["n/unlabelled"] == 120 and metrics["n/test"] == 24
    assert metrics["test/auc"] > 0.8  # the rule behind the labels is easy: two epochs learn it
    for name in ("roc.png", "latent.png", "reconstruction.png", "checkpoints/last.ckpt", ".hydra/config.yaml"):
        assert (trained_run / name).is_file(), name
    assert (trained_run / "checkpoints" / "best-generative.ckpt").is_file()  # the encoder's and decoder's epoch
    # every term of the loss is logged on its own, per epoch
    logged = pd.read_csv(trained_run / "logs" / "metrics.csv")
    for term in ("reconstruction", "kl_target", "kl_nuisance", "target_classifier", "label", "kl_head"):
        assert logged[f"train/{term}"].notna().any(), term
    assert logged["val/generative_loss"].notna().any()
    bundle = trained_run / "model"
    assert {"model.json", "weights.pt", "elements.txt", "config.yaml"} <= {p.name for p in bundle.iterdir()}
    assert "hidden: 16" in (bundle / "config.yaml").read_text()
    assert not list(trained_run.parent.glob(".vae-design-staging-*"))


def test_bundle_reloads_and_reproduces_the_run(trained_run, alloy_files):
    model = AlloyVAE.load(trained_run / "model")
    test = pd.read_csv(alloy_files["test"])
    val = pd.read_csv(alloy_files["val"])
    metrics = json.loads((trained_run / "metrics.json").read_text())
    again = model.evaluate(val=(list(val.formula), val.label), test=(list(test.formula), test.label))
    for key in ("test/auc", "test/log_loss", "val/accuracy", "recon/mae_all", "test/auc_head", "test/ece_head"):
        assert again[key] == pytest.approx(metrics[key], rel=1e-5), key
    assert model.architecture["z_dim"] == 12 and model.architecture["target_dim"] == 16
    assert model.architecture["hidden"] == 16


def test_a_loaded_model_can_be_refit(trained_run, alloy_files, tmp_path):
    """load() builds through __init__ (it used to skip it: fit raised AttributeError: no attribute 'weak')."""
    from vae_design.training.fit import TrainingSettings

    model = AlloyVAE.load(trained_run / "model")
    assert model.weak is None and model.pretrain is None
    model.training = TrainingSettings(max_epochs=1, progress_bar=False, lr_schedule="constant")
    labelled = pd.read_csv(alloy_files["labelled"])
    model.fit(list(labelled.formula), labelled.label.to_numpy(), run_dir=tmp_path / "refit")
    assert model.architecture["hidden"] == 16 and model.history["train/epochs"] == 1


def test_resume_continues_an_interrupted_run(trained_run, alloy_files, tmp_path, capsys):
    out = tmp_path / "resumed"
    shutil.copytree(trained_run, out)
    for name in ("metrics.json", "model"):  # an interrupted run has only its checkpoints and logs
        shutil.rmtree(out / name) if (out / name).is_dir() else (out / name).unlink()
    overrides = [*tiny_overrides(alloy_files), f"hydra.run.dir={out}"]
    code, _, err = run(["train", *overrides], capsys)  # a fresh run would mix two runs' checkpoints
    assert code == 2 and "resume=true" in err and err.count("\n") == 1
    code, stdout, err = run(["train", *overrides, "resume=true", "trainer.max_epochs=4"], capsys)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train/epochs"] == 4  # two more epochs on top of the two it had
    assert (out / "model" / "model.json").is_file() and "test (n=24)" in stdout
    # the interrupted run's log survives beside the resumed one (Lightning's CSV logger would delete it)
    before = pd.read_csv(out / "logs" / "metrics-part1.csv")
    after = pd.read_csv(out / "logs" / "metrics.csv")
    assert before["epoch"].max() == 1 and after["epoch"].min() == 2


def test_a_failure_after_training_keeps_checkpoints_but_writes_no_results(alloy_files, tmp_path, capsys, monkeypatch):
    def disk_full(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(AlloyVAE, "save", disk_full)
    out = tmp_path / "run"
    code, _, err = run(["train", *tiny_overrides(alloy_files), f"hydra.run.dir={out}"], capsys)
    assert code == 2 and err == "vae-design train: error: No space left on device\n"
    assert (out / "checkpoints" / "last.ckpt").is_file()  # what resume=true needs
    assert not (out / "metrics.json").exists() and not (out / "model").exists()
    assert not list(tmp_path.glob(".vae-design-staging-*"))


def test_every_config_group_option_builds_a_model():
    from vae_design.cli.settings import group_options

    # configs/<group>/*.yaml and the typed defaults in Hydra's config store (vae_design/cli/settings.py)
    groups = ("data", "split", "model", "prior", "semi", "weak", "pretrain", "trainer", "logger", "experiment")
    options = {group: group_options(group) for group in groups}
    assert all(options.values()) and options["model"] == ["default"]
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        for group in ("model", "prior", "semi", "weak", "pretrain", "trainer", "logger", "experiment"):
            for option in options[group]:
                model = build_model(compose("train", overrides=[f"{group}={option}"]))
                assert model.training is not None, f"{group}={option}"
        gpu = build_model(compose("train", overrides=["trainer=gpu"])).training
        assert gpu.accelerator == "gpu" and gpu.devices == 1
        assert build_model(compose("train", overrides=["trainer=ddp"])).training.strategy == "ddp"
        assert build_model(compose("train", overrides=["logger=none"])).training.loggers == ()
        reference = build_model(compose("train", overrides=["experiment=reference"]))
        plain = build_model(compose("train"))
        knowing = build_model(compose("train", overrides=["weak=rules", "pretrain=descriptors", "weak.alpha=2"]))
    assert plain.weak is None and plain.pretrain is None  # the defaults: weak=none, pretrain=none
    assert knowing.weak.alpha == 2.0 and knowing.weak.rules == ("zhang_delta", "ye_phi")
    assert not knowing.pretrain.freeze and knowing.pretrain.enumerated == 10000  # chosen on validation
    assert reference.architecture["decoder"] == "multinomial" and reference.architecture["z_dim"] == 2
    assert "omega" not in reference.architecture["descriptors"]
    assert not reference.architecture["embedding_sees_composition"]
    assert reference.architecture["semi"] == {"method": "m2", "weight": 1.0, "noise": 0.0}
    assert plain.architecture["semi"] == {"method": "consistency", "weight": 3.0, "noise": 0.05}  # the default
    assert reference.architecture["prior"]["class_prior"] is None  # flat: r = 0.5


def test_weak_labels_and_pretraining_train_and_report(alloy_files, tmp_path, capsys):
    out = tmp_path / "knowing"
    args = ["train", *tiny_overrides(alloy_files), "weak=rules", "pretrain=descriptors", "logger=none"]
    args += ["pretrain.enumerated=100", "pretrain.epochs=2", f"hydra.run.dir={out}"]
    code, _, err = run(args, capsys)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 < metrics["weak/coverage"] <= 1  # some of the 120 unlabelled alloys got a weak label
    assert metrics["pretrain/compositions"] == 80 + 120 + 100  # training + unlabelled + enumerated
    assert math.isfinite(metrics["pretrain/r2"]) and math.isfinite(metrics["test/auc"])
    assert "weak: rules" not in (out / ".hydra" / "config.yaml").read_text()  # the settings, not the choice
    assert "alpha: 0.5" in (out / ".hydra" / "config.yaml").read_text()


def test_the_wrote_line_lists_the_data_report_and_small_data_raise_no_logging_warning(alloy_files, tmp_path, capsys):
    """Issue 29: the "wrote ..." line left out data_report.csv, and Lightning warned that an epoch of small data has
    fewer batches than its logging interval."""
    import warnings

    out = tmp_path / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, stdout, err = run(
            ["train", *tiny_overrides(alloy_files), "trainer.max_epochs=1", f"hydra.run.dir={out}"], capsys
        )
    assert code == 0, err
    assert (out / "data_report.csv").is_file() and "data_report.csv" in stdout.splitlines()[-1]
    messages = [str(warning.message) for warning in caught] + [err]
    assert not [text for text in messages if "log_every_n_steps" in text]


def test_reference_experiment_trains(alloy_files, tmp_path, capsys):
    out = tmp_path / "reference"
    args = ["train", *tiny_overrides(alloy_files), "experiment=reference", "trainer.max_epochs=1"]
    code, stdout, err = run([*args, "logger=none", f"hydra.run.dir={out}"], capsys)
    assert code == 0, err
    assert "trained on 80 labelled + 120 unlabelled alloys" in stdout and f"wrote {out}" in stdout
    meta = json.loads((out / "model" / "model.json").read_text())
    assert meta["config"]["decoder"] == "multinomial" and len(meta["config"]["descriptors"]) == 8
    assert not (out / "logs").exists() and not (out / "tensorboard").exists()


def test_phase_target_trains_and_predicts_four_classes(tmp_path, capsys):
    files = write_alloy_files(tmp_path, target="phase")
    out = tmp_path / "phase"
    # the default (literature) prior: one class prior per target, VEC priors per class (it used to fail here)
    args = ["train", *tiny_overrides(files), "data.target=phase", "trainer.max_epochs=1"]
    code, _, err = run([*args, f"hydra.run.dir={out}"], capsys)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert np.isfinite(metrics["test/accuracy"]) and np.isfinite(metrics["test/f1"])
    assert {f"test/auc_{c}" for c in ("BCC", "FCC", "multi-phase")} <= set(metrics)
    code, _, err = run(["predict", f"model={out}/model", f"input={files['test']}", f"hydra.run.dir={out}/p"], capsys)
    assert code == 0, err
    table = pd.read_csv(out / "p" / "predictions.csv")
    classes = ["BCC", "FCC", "HCP", "multi-phase"]
    probabilities = ["probability", "uncertainty", *(f"probability_{c}" for c in classes)]
    assert list(table.columns[: len(probabilities) + 1]) == ["formula", *probabilities]
    assert {"known_label", "known_source", "in_domain"} <= set(table.columns)
    assert np.allclose(table["probability"], 1 - table["probability_multi-phase"], atol=1e-5)
    assert np.allclose(table[[f"probability_{c}" for c in classes]].sum(1), 1, atol=1e-4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model.foo=1"], "unknown setting model.foo; did you mean model.dropout"),
        (["+model.foo=1"], "unknown setting model.foo"),
        (["+trainer.foo=1"], "unknown setting trainer.foo"),
        (["model.z_dim=abc"], "model.z_dim must be a whole number, got 'abc'"),
        (["model.decoder=dense"], "model.decoder must be sparse, staged or multinomial"),
        (["trainer.monitor=val/loss"], "monitor must be one of"),
        (["trainer.precision=17"], "trainer: Precision '17' is invalid"),
        (["trainer.max_epochs=0"], "trainer.max_epochs must be a whole number >= 1"),
        (["trainer.threads=0"], "trainer.threads must be auto or a whole number >= 1, got 0"),
        (["trainer.threads=many"], "trainer.threads must be auto or a whole number >= 1, got 'many'"),
        (["logger.loggers=[wandb]"], "unknown logger 'wandb' (choose from csv, tensorboard)"),
        (["prior.coefficients.omega.scale=-1"], "scale > 0"),
        (["resume=maybe"], "resume must be true or false"),
        (["trainer=tpu"], "tpu"),
        (["weak=rules", "weak.rules=[nope]"], "weak.rules must name rules from zhang_delta"),
        (["weak=rules", "weak.alpha=abc"], "weak.alpha must be a number, got 'abc'"),
        (["+weak.foo=1"], "unknown setting weak.foo"),
        (["pretrain=descriptors", "pretrain.epochs=0"], "pretrain.epochs must be a whole number >= 1"),
        (["pretrain=descriptors", "model.embedding_hidden=0"], "pretraining needs the head's composition network"),
        (["weak=gossip"], "gossip"),
    ],
)
def test_bad_train_settings_are_one_line_errors_and_write_nothing(alloy_files, tmp_path, capsys, args, message):
    out = tmp_path / "out"
    code, stdout, err = run(["train", *tiny_overrides(alloy_files), *args, f"hydra.run.dir={out}"], capsys)
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert err.startswith("vae-design train: error: ")
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_gpu_trainer_without_a_gpu_is_a_one_line_error(alloy_files, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run(["train", *tiny_overrides(alloy_files), "trainer=gpu", f"hydra.run.dir={out}"], capsys)
    assert code == 2 and err.count("\n") == 1 and "trainer:" in err
    assert not out.exists()


@pytest.mark.slow
def test_ddp_on_cpu_trains_with_two_processes_and_rank_zero_writes(alloy_files, tmp_path):
    # DDP re-runs the command line in a second process, so this goes through the console script (about 20 s).
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "ddp"
    script = Path(sys.executable).parent / "vae-design"
    args = [str(script), "train", *tiny_overrides(alloy_files), "trainer=ddp", "trainer.accelerator=cpu"]
    result = subprocess.run([*args, f"hydra.run.dir={out}"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert math.isfinite(json.loads((out / "metrics.json").read_text())["test/auc"])
    assert not list(tmp_path.glob(".vae-design-staging-*")) and not list(out.glob(".vae-design-staging-*"))


# ------------------------------------------------------------------------------------------- reliability
def _figures(folder):
    """metrics.json without train/seconds, the one figure that measures the machine rather than the model."""
    metrics = json.loads((folder / "metrics.json").read_text())
    return {key: value for key, value in metrics.items() if key != "train/seconds"}


def test_same_seed_same_metrics_and_a_resumed_run_matches_an_uninterrupted_one(trained_run, alloy_files, tmp_path):
    # a constant step size: the cosine schedule spans max_epochs, and the run resumed here was started with 2
    args = [
        "train",
        *tiny_overrides(alloy_files),
        "trainer.max_epochs=3",
        "logger=none",
        "trainer.lr_schedule=constant",
    ]
    assert main([*args, f"hydra.run.dir={tmp_path / 'a'}"]) == 0
    assert main([*args, f"hydra.run.dir={tmp_path / 'b'}"]) == 0
    assert _figures(tmp_path / "a") == _figures(tmp_path / "b")  # exactly equal, not approximately
    # trained_run stopped after two epochs, like a run killed there; resume=true takes it to three. Equal figures
    # need batch orders seeded per epoch and the random state saved in the checkpoint (both were missing once).
    resumed = tmp_path / "resumed"
    shutil.copytree(trained_run, resumed, ignore=shutil.ignore_patterns("metrics.json", "model"))
    partial = resumed / "checkpoints" / ".last.ckpt.999.partial"  # what a kill during a checkpoint write leaves
    partial.write_bytes(b"half a checkpoint")
    assert main([*args, "resume=true", f"hydra.run.dir={resumed}"]) == 0
    assert not partial.exists()
    assert _figures(resumed) == _figures(tmp_path / "a")
    assert torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 2
    # train/seconds counts the epochs before the resume too
    before = torch.load(trained_run / "checkpoints" / "last.ckpt", weights_only=True)["train_seconds"]
    assert 0 < before < json.loads((resumed / "metrics.json").read_text())["train/seconds"]


@pytest.mark.parametrize("fault", ["nan loss", "nan weights", "inf gradient"])
def test_a_numerical_fault_stops_training_with_one_line_and_keeps_the_last_good_checkpoint(
    alloy_files, tmp_path, capsys, monkeypatch, fault
):
    from vae_design.training.module import TrainingPlan

    def fault_in_the_second_epoch(self):
        if self.current_epoch != 1:
            return
        if fault == "nan weights":
            with torch.no_grad():
                next(self.vae.parameters()).fill_(float("nan"))
        else:
            elbo, weight = self.elbo.forward, next(self.elbo.parameters())
            if fault == "nan loss":
                self.elbo.forward = lambda *args: elbo(*args) * float("nan")
            else:  # a finite loss whose gradient is infinite: d sqrt(u) / du at u = 0
                self.elbo.forward = lambda *args: elbo(*args) + torch.sqrt(weight - weight.detach()).sum()

    monkeypatch.setattr(TrainingPlan, "on_train_epoch_start", fault_in_the_second_epoch)
    out = tmp_path / "run"
    args = ["train", *tiny_overrides(alloy_files), "trainer.max_epochs=3", "logger=none", f"hydra.run.dir={out}"]
    code, _, err = run(args, capsys)
    last = out / "checkpoints" / "last.ckpt"
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("vae-design train: error: training stopped: ") and " at epoch 1; " in err
    assert {"nan loss": "loss became nan", "nan weights": "parameters became", "inf gradient": "gradient"}[fault] in err
    assert f"the last good checkpoint is {last} (epoch 0; resume=true continues from it)" in err
    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["epoch"] == 0
    assert all(torch.isfinite(tensor).all() for tensor in checkpoint["state_dict"].values())
    assert not (out / "metrics.json").exists() and not (out / "model").exists()
    assert not list(out.glob("checkpoints/.*.partial"))


@pytest.mark.parametrize("clip", [0.01, 0.0])
def test_gradient_clipping_is_applied_before_the_optimizer_step(alloy_files, tmp_path, clip):
    norms = []

    # Lightning calls optimizer.step(closure): the closure runs forward, backward and the clipping inside step, so
    # the gradients the update used are the ones left on the parameters when step returns.
    def record(optimizer, args, kwargs):
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if not isinstance(optimizer, torch.optim.AdamW) or not grads:
            return  # not the training loop's optimizer
        norms.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))))

    from torch.optim.optimizer import register_optimizer_step_post_hook

    hook = register_optimizer_step_post_hook(record)
    try:
        args = [*tiny_overrides(alloy_files), "trainer.max_epochs=1", "logger=none"]
        args.append(f"trainer.gradient_clip_val={clip}")
        assert main(["train", *args, f"hydra.run.dir={tmp_path / 'run'}"]) == 0
    finally:
        hook.remove()
    assert norms
    if clip:  # what the optimizer saw was clipped...
        assert max(norms) <= clip * (1 + 1e-4)
    else:  # ...and unclipped gradients are far larger, so the clip did the work
        assert min(norms) > 100 * 0.01


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_result(alloy_files, tmp_path):
    # A real process, killed with SIGKILL as soon as its first checkpoint exists (about 30 s in all).
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = Path(sys.executable).parent / "vae-design"
    args = [str(script), "train", *tiny_overrides(alloy_files), "trainer.max_epochs=30", "logger=none"]
    killed = tmp_path / "killed"
    process = subprocess.Popen([*args, f"hydra.run.dir={killed}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not (killed / "checkpoints" / "last.ckpt").exists() and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL  # killed, not finished
    assert not (killed / "metrics.json").exists()
    epoch = torch.load(killed / "checkpoints" / "last.ckpt", weights_only=True)["epoch"]
    assert epoch < 29
    resumed = subprocess.run([*args, "resume=true", f"hydra.run.dir={killed}"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    whole = tmp_path / "uninterrupted"
    assert main(["train", *args[2:], f"hydra.run.dir={whole}"]) == 0
    assert _figures(killed) == _figures(whole)


def test_a_failure_while_saving_a_bundle_keeps_the_previous_one(trained_run, tmp_path, monkeypatch):
    model = AlloyVAE.load(trained_run / "model")
    bundle = tmp_path / "deep" / "model"
    real_save = torch.save

    def crash_on_the_second_file(obj, target, *args, **kwargs):
        if str(target).endswith("neighbours.pt"):
            real_save(obj, target, *args, **kwargs)
            with open(target, "r+b") as handle:  # a half-written file, then the crash
                handle.truncate(10)
            raise OSError(28, "No space left on device")
        return real_save(obj, target, *args, **kwargs)

    monkeypatch.setattr(torch, "save", crash_on_the_second_file)
    with pytest.raises(OSError):
        model.save(bundle)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no bundle, no staging, no parent folders
    monkeypatch.setattr(torch, "save", real_save)
    model.save(bundle)
    before = {p.name: p.read_bytes() for p in bundle.iterdir()}
    monkeypatch.setattr(torch, "save", crash_on_the_second_file)
    with pytest.raises(OSError):
        model.save(bundle)
    assert {p.name: p.read_bytes() for p in bundle.iterdir()} == before  # the previous bundle, whole
    assert sorted(p.name for p in bundle.parent.iterdir()) == ["model"]


def test_metrics_json_is_replaced_atomically(tmp_path, monkeypatch):
    from pathlib import Path

    from vae_design.runs.train import write_metrics

    path = tmp_path / "metrics.json"
    write_metrics({"test/auc": 0.9}, path)

    def half_then_crash(self, text, *args, **kwargs):
        with open(self, "w") as handle:
            handle.write(text[:5])
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(Path, "write_text", half_then_crash)
    with pytest.raises(OSError):
        write_metrics({"test/auc": 0.95, "val/auc": float("nan")}, path)
    assert json.loads(path.read_text()) == {"test/auc": 0.9}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_mixed_precision_trains(alloy_files, tmp_path):
    # trainer=gpu_mixed is trainer=gpu with bf16 autocast; the same autocast runs on CPU, which is what CI can test
    # (Pyro's enumerated ELBO once failed under autocast: tensordot of bf16 probabilities and float32 costs).
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        settings = build_model(compose("train", overrides=["trainer=gpu_mixed"])).training
    assert (settings.accelerator, settings.precision) == ("gpu", "bf16-mixed")
    out = tmp_path / "bf16"
    args = [*tiny_overrides(alloy_files), "trainer.precision=bf16-mixed", "trainer.accelerator=cpu", "logger=none"]
    assert main(["train", *args, f"hydra.run.dir={out}"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test/auc"] > 0.8 and math.isfinite(metrics["val/log_loss"])
