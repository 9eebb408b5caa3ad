"""How to train (the ``trainer`` and ``logger`` config groups): one definition for the CLI, the API and scripts.

The CLI registers :class:`TrainerSettings` and :class:`LoggerSettings` as the ``trainer/default`` and
``logger/default`` options of Hydra's config store (``vae_design/cli/settings.py``); ``configs/trainer/*.yaml`` and
``configs/logger/*.yaml`` are presets over them. No Lightning here, so the CLI checks settings without loading it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from vae_design.errors import InputError

MONITORS = {"val/log_loss": "min", "val/auc": "max", "val/accuracy": "max"}
# The encoder's and decoder's validation figure (TrainingPlan.validation_step), lower is better.
GENERATIVE_MONITOR = "val/generative_loss"
LOGGERS = ("csv", "tensorboard")
LR_SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class TrainerSettings:
    """How Lightning runs the loop (the ``trainer`` config group); units: epochs, alloys per batch."""

    # auto: GPU when torch sees one, else CPU; cpu, gpu, mps force one
    accelerator: str = "auto"
    # auto: every visible device of that kind (on CPU: one process); a whole number picks how many
    devices: int | str = "auto"
    # auto: one process; ddp: one process per device (see trainer=ddp)
    strategy: str = "auto"
    # 32-true: float32 everywhere; bf16-mixed / 16-mixed trade accuracy for speed on GPUs
    precision: str = "32-true"
    # upper bound on passes over the labelled alloys; early stopping usually ends sooner
    max_epochs: int = 80
    # labelled alloys per batch (each batch is paired with as many unlabelled alloys)
    batch_size: int = 256
    # Adam step size
    learning_rate: float = 6e-3
    # cosine: the step size falls from learning_rate to 0 over max_epochs (the decoder's reconstructions of
    # held-out alloys kept oscillating at a constant 6e-3); constant: learning_rate throughout
    lr_schedule: str = "cosine"
    # decoupled (AdamW) weight decay
    weight_decay: float = 1e-4
    # epochs without improvement of ``monitor`` before stopping; the best-on-validation weights are kept
    patience: int = 15
    # validation figure for early stopping and the best checkpoint: val/log_loss, val/auc or val/accuracy
    monitor: str = "val/log_loss"
    # clip the gradient norm at this value (the ELBO's early gradients can be large)
    gradient_clip_val: float = 5.0
    # deterministic kernels: the same seed gives the same model on the same machine
    deterministic: bool = True
    # a live progress bar (turn off in scripts and CI logs)
    progress_bar: bool = True
    # CPU threads of torch while training: auto (one per idle core when training starts, see resolve_threads; in
    # a multirun job, its share of the cores) or a whole number. All threads beside another busy process spin
    # against it: two runs at once took 38.5 s for 6 epochs each with 2 threads, 13.5 s with 1 (docs/benchmarks.md)
    threads: int | str = "auto"

    def __post_init__(self) -> None:
        if self.lr_schedule not in LR_SCHEDULES:
            raise InputError(f"trainer.lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if self.monitor not in MONITORS:
            raise InputError(f"trainer.monitor must be one of {', '.join(MONITORS)}, got {self.monitor!r}")
        for key in ("max_epochs", "batch_size", "patience"):
            if not isinstance(getattr(self, key), int) or getattr(self, key) < 1:
                raise InputError(f"trainer.{key} must be a whole number >= 1, got {getattr(self, key)!r}")
        threads = self.threads
        if threads != "auto" and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise InputError(f"trainer.threads must be auto or a whole number >= 1, got {threads!r}")


# Set by a multirun job (cli/multirun.py): how many jobs share this machine, so "auto" takes its share.
PARALLEL_JOBS_VARIABLE = "VAE_DESIGN_PARALLEL_JOBS"


def resolve_threads(choice: int | str, cores: int | None = None, load: float | None = None, jobs: int = 1) -> int:
    """Torch threads for ``trainer.threads``: a whole number as it is; ``auto``: cores // jobs when several jobs
    share the machine, else the cores not busy at the start (cores minus the 1-minute load average, rounded; at
    least 1). Measured on 2 cores (6 epochs of the default training): alone, 2 threads 9.3 s and 1 thread 12.8 s;
    beside a second run, 38.5 s with 2 threads each and 13.5 s with 1."""
    if choice != "auto":
        return int(choice)
    cores = cores or os.cpu_count() or 1
    if jobs > 1:
        return max(1, cores // jobs)
    if load is None:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, min(cores, round(cores - load)))


@dataclass(frozen=True)
class LoggerSettings:
    """Which training logs to write (the ``logger`` config group): csv (logs/metrics.csv), tensorboard."""

    loggers: tuple[str, ...] = LOGGERS

    def __post_init__(self) -> None:
        object.__setattr__(self, "loggers", tuple(self.loggers))
        unknown = [name for name in self.loggers if name not in LOGGERS]
        if unknown:
            raise InputError(f"unknown logger {unknown[0]!r} (choose from {', '.join(LOGGERS)})")


@dataclass(frozen=True)
class TrainingSettings(TrainerSettings, LoggerSettings):
    """Everything :func:`train_vae` needs: the trainer settings and the logs."""

    def __post_init__(self) -> None:
        TrainerSettings.__post_init__(self)
        LoggerSettings.__post_init__(self)
