"""Fit a :class:`PhaseVAE` with Lightning: early stopping and checkpointing on validation data only, CSV and
TensorBoard logs, a rich progress bar, seeded and deterministic on CPU, resumable from the last checkpoint."""

from __future__ import annotations

import logging
import os
import time
import warnings
from pathlib import Path

import lightning as L
import torch

from vae_design.data.weak_labels import WeakLabelling
from vae_design.errors import InputError, NumericalError
from vae_design.models.ssvae import PhaseVAE
from vae_design.training.data import AlloyDataModule, TrainingTensors
from vae_design.training.module import TrainingPlan
from vae_design.training.settings import (
    GENERATIVE_MONITOR,
    MONITORS,
    PARALLEL_JOBS_VARIABLE,
    TrainingSettings,
    resolve_threads,
)


def is_rank_zero() -> bool:
    """Whether this process writes a run's files: under DDP every process trains, and Lightning's rank (read from
    RANK, LOCAL_RANK, SLURM_PROCID, JSM_NAMESPACE_RANK when it is imported) picks one."""
    from lightning.pytorch.utilities import rank_zero_only

    return rank_zero_only.rank == 0


def last_checkpoint(run_dir: Path) -> Path:
    """Where a run keeps the checkpoint that ``resume=true`` continues from."""
    return Path(run_dir) / "checkpoints" / "last.ckpt"


def _loggers(settings: TrainingSettings, run_dir: Path, resume: bool) -> list:
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
    from lightning.pytorch.utilities import rank_zero_only

    made = []
    for name in settings.loggers:
        if name == "csv":
            metrics = run_dir / "logs" / "metrics.csv"
            if resume and metrics.exists() and rank_zero_only.rank == 0:
                # Lightning's CSV logger deletes an existing metrics.csv; keep the interrupted part beside it.
                parts = len(list(metrics.parent.glob("metrics-part*.csv")))
                metrics.rename(metrics.with_name(f"metrics-part{parts + 1}.csv"))
            made.append(CSVLogger(run_dir, name="logs", version=""))
        else:
            made.append(TensorBoardLogger(run_dir, name="tensorboard", version="", default_hp_metric=False))
    return made


def _atomic_checkpoints():
    """Lightning's checkpoint writer, writing each checkpoint to a temporary name in its own folder and renaming it:
    a run killed while saving keeps its previous ``last.ckpt`` whole (Lightning's own transaction writes to the
    system temp folder and copies across file systems, which is not atomic)."""
    import os

    from lightning.pytorch.plugins.io import TorchCheckpointIO

    class AtomicCheckpointIO(TorchCheckpointIO):
        def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            try:
                with open(partial, "wb") as handle:
                    torch.save(checkpoint, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(partial, path)
            finally:
                partial.unlink(missing_ok=True)

    return AtomicCheckpointIO()


def _relocatable(checkpoint_class):
    """Lightning's ModelCheckpoint, resumable in a run folder that was moved or copied: the saved paths are read
    relative to the checkpoint folder. (Lightning would forget the best score and keep the old folder's best
    path, so the resumed run would pick its best epoch differently from an uninterrupted one.)"""

    class RelocatableCheckpoint(checkpoint_class):
        def load_state_dict(self, state_dict: dict) -> None:
            saved = state_dict.get("dirpath")
            if saved and self.dirpath and Path(saved) != Path(self.dirpath):

                def moved(path):
                    return str(Path(self.dirpath) / Path(path).name) if path else path

                state_dict = {**state_dict, "dirpath": self.dirpath}
                for key in ("best_model_path", "kth_best_model_path", "last_model_path"):
                    state_dict[key] = moved(state_dict.get(key))
                state_dict["best_k_models"] = {moved(k): v for k, v in state_dict.get("best_k_models", {}).items()}
            super().load_state_dict(state_dict)

    return RelocatableCheckpoint


# Training steps between two logged points: often enough for a smooth curve, rarely enough to cost nothing.
LOG_EVERY_N_STEPS = 5


def log_interval(tensors: TrainingTensors, batch_size: int) -> int:
    """Steps between logged points: :data:`LOG_EVERY_N_STEPS`, or the steps of one epoch when an epoch is shorter
    (small data), so every epoch is logged and Lightning has no interval longer than an epoch to warn about. An
    epoch is one pass over the larger of the labelled and unlabelled parts (:class:`AlloyDataModule`)."""
    rows = max(len(tensors.x_train), len(tensors.x_unlabelled), 1)
    return min(LOG_EVERY_N_STEPS, -(-rows // batch_size))


def _trainer(**settings) -> L.Trainer:
    """A Lightning Trainer; an impossible setting (a GPU that is not there, precision=17, devices=abc) is a
    one-line InputError instead of Lightning's traceback."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    try:
        return L.Trainer(**settings)
    except (MisconfigurationException, ValueError, TypeError, RuntimeError) as error:
        raise InputError(f"trainer: {str(error).splitlines()[0]}") from None


def train_vae(
    vae: PhaseVAE,
    tensors: TrainingTensors,
    settings: TrainingSettings,
    run_dir: Path,
    seed: int = 0,
    resume: bool = False,
    weak: WeakLabelling | None = None,
) -> tuple[PhaseVAE, dict[str, float]]:
    """Train in place, then load the best-on-validation weights; returns the model and ``train/*`` figures.

    ``resume=True`` continues from ``run_dir/checkpoints/last.ckpt`` when it exists. ``weak`` weighs the
    unlabelled alloys' weak labels (``tensors.y_weak``) as a whole ``weak.alpha`` times the labelled alloys.
    """
    from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar

    # "GPU available: False" and product tips are noise in a CLI run; warnings and errors still show.
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    L.seed_everything(seed, workers=True, verbose=False)
    run_dir = Path(run_dir)
    checkpoint_dir = run_dir / "checkpoints"
    mode = MONITORS[settings.monitor]
    checkpoint = _relocatable(ModelCheckpoint)(
        dirpath=checkpoint_dir, filename="best", monitor=settings.monitor, mode=mode, save_last=True
    )
    # The encoder and decoder improve long after the head's figures stop (reconstruction traded for log-loss
    # when one epoch served both): each keeps its own best epoch, and training stops when neither improves.
    generative = _relocatable(ModelCheckpoint)(
        dirpath=checkpoint_dir, filename="best-generative", monitor=GENERATIVE_MONITOR, mode="min"
    )
    stopping = JointEarlyStopping({settings.monitor: mode, GENERATIVE_MONITOR: "min"}, settings.patience)
    callbacks = [checkpoint, generative, stopping]
    if settings.progress_bar:
        callbacks.append(RichProgressBar(leave=False))
    plan = TrainingPlan(
        vae,
        n_labelled=len(tensors.x_train),
        n_unlabelled=len(tensors.x_unlabelled),
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        lr_schedule=settings.lr_schedule,
        weak=_weak_scale(weak, tensors),
    )
    trainer = _trainer(
        max_epochs=settings.max_epochs,
        accelerator=settings.accelerator,
        devices=settings.devices,
        strategy=settings.strategy,
        precision=settings.precision,
        gradient_clip_val=settings.gradient_clip_val,
        deterministic=settings.deterministic,
        callbacks=callbacks,
        logger=_loggers(settings, run_dir, resume),
        enable_progress_bar=settings.progress_bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=log_interval(tensors, settings.batch_size),
        default_root_dir=run_dir,
        plugins=[_atomic_checkpoints()],
    )
    last = last_checkpoint(run_dir)
    for stale in checkpoint_dir.glob(".*.partial"):  # a checkpoint write cut short by a kill
        stale.unlink(missing_ok=True)
    jobs = int(os.environ.get(PARALLEL_JOBS_VARIABLE, "1") or 1)
    threads_before = torch.get_num_threads()
    torch.set_num_threads(resolve_threads(settings.threads, jobs=jobs))
    started = time.perf_counter()
    with warnings.catch_warnings():
        # Single-process loaders are deliberate (parallelism off by default; the data are in memory).
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        # Labelled-only data leave nothing to enumerate; TraceEnum_ELBO is still the right (exact) objective.
        warnings.filterwarnings("ignore", message="TraceEnum_ELBO found no sample sites configured for enumeration")
        try:
            trainer.fit(
                plan,
                datamodule=AlloyDataModule(tensors, settings.batch_size, seed),
                ckpt_path=str(last) if resume and last.exists() else None,
            )
        except FloatingPointError as error:
            raise NumericalError(f"training stopped: {error}; {_last_good(last)}") from None
        finally:
            torch.set_num_threads(threads_before)  # the caller's setting for what comes after training
    seconds = time.perf_counter() - started
    kept = torch.load(checkpoint.best_model_path or str(last), map_location="cpu", weights_only=False)
    kept_generative = torch.load(generative.best_model_path or str(last), map_location="cpu", weights_only=False)
    plan.load_state_dict(merged_state(kept["state_dict"], kept_generative["state_dict"]))
    vae = plan.vae.cpu().eval()
    return vae, {
        "train/seconds": plan.seconds_before + seconds,  # with the epochs before a resume
        "train/epochs": float(trainer.current_epoch),
        "train/best_epoch": float(kept.get("epoch", float("nan"))),
        "train/best_epoch_generative": float(kept_generative.get("epoch", float("nan"))),
    }


def merged_state(head_state: dict, generative_state: dict) -> dict:
    """The head (and everything else) from ``head_state``; the encoder, the decoder and the target factor's prior
    p(z_y | y) (whose scales set the decoder's class weights and the KL that ``val/generative_loss`` reads) from
    ``generative_state``.

    The two parts meet only in the unlabelled alloys' q(y | x) weights and the descriptor scaler (fitted before
    training), so the states of two epochs fit together."""
    return {
        key: generative_state[key] if {"encoder", "decoder", "target"} & set(key.split(".")) else value
        for key, value in head_state.items()
    }


class JointEarlyStopping(L.Callback):
    """Stop when none of several validation figures improved for ``patience`` epochs (Lightning's EarlyStopping
    stops when any one of them stalls). ``monitors``: name -> "min" or "max". The scores are saved in checkpoints,
    so a resumed run stops where the uninterrupted one would."""

    def __init__(self, monitors: dict[str, str], patience: int) -> None:
        self.monitors, self.patience = dict(monitors), patience
        self.best: dict[str, float | None] = {name: None for name in self.monitors}
        self.wait = {name: 0 for name in self.monitors}

    def on_validation_end(self, trainer, module) -> None:
        if trainer.sanity_checking:
            return
        for name, mode in self.monitors.items():
            value, best = float(trainer.callback_metrics[name]), self.best[name]
            if best is None or (value < best if mode == "min" else value > best):
                self.best[name], self.wait[name] = value, 0
            else:
                self.wait[name] += 1
        stalled = all(wait >= self.patience for wait in self.wait.values())
        # every process must agree, or DDP waits for ever on the one that stopped
        trainer.should_stop = trainer.should_stop or trainer.strategy.reduce_boolean_decision(stalled, all=False)

    def state_dict(self) -> dict:
        return {"best": dict(self.best), "wait": dict(self.wait)}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best.update(state_dict["best"])
        self.wait.update(state_dict["wait"])


def _weak_scale(weak: WeakLabelling | None, tensors: TrainingTensors) -> tuple[float, float]:
    """(weight per weakly labelled alloy, q): alpha * n_labelled / n_weak, so the pool's size does not matter."""
    if weak is None or tensors.y_weak is None:
        return 0.0, 1.0
    n_weak = int((tensors.y_weak >= 0).sum())
    return (weak.alpha * len(tensors.x_train) / n_weak if n_weak else 0.0), weak.q


def _last_good(last: Path) -> str:
    remedy = "lower trainer.learning_rate or check the data for extreme compositions"
    if not last.is_file():
        return f"no checkpoint was written before it; {remedy}"
    epoch = _checkpoint_epoch(last)
    return f"the last good checkpoint is {last} (epoch {epoch:.0f}; resume=true continues from it); {remedy}"


def _checkpoint_epoch(path: Path) -> float:
    try:
        return float(torch.load(path, map_location="cpu", weights_only=False)["epoch"])
    except (OSError, KeyError):
        return float("nan")
