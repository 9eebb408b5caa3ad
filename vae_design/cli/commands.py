"""The sub-commands train, predict, featurize and data summary: a composed config in, typed settings to the plain
functions of :mod:`vae_design.runs`, their results printed. Nothing is written before every input is checked."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from vae_design.cli.settings import settings
from vae_design.errors import InputError
from vae_design.outputs import progress_bar, staged_run_dir


def run_dir(cfg: DictConfig) -> Path:
    return Path(str(cfg.hydra.run.dir))


def save_config(cfg: DictConfig, overrides: list[str], folder: Path) -> None:
    """The record of a run that ``hydra.main`` would write: .hydra/config.yaml and .hydra/overrides.yaml."""
    plain = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), resolve=True)
    (folder / ".hydra").mkdir(parents=True, exist_ok=True)
    (folder / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(plain), encoding="utf-8")
    (folder / ".hydra" / "overrides.yaml").write_text(OmegaConf.to_yaml(list(overrides)), encoding="utf-8")


def load_dataset(cfg: DictConfig):
    """The alloy table and split a run's ``data`` and ``split`` configs describe (one way, for every command)."""
    from vae_design.data import load_table, make_split
    from vae_design.features.coverage import drop_without_descriptors

    data = settings(cfg, "data")
    table = load_table(data)
    if data.drop_without_descriptors:
        table = drop_without_descriptors(table)
    return table, make_split(table, settings(cfg, "split"))


def build_model(cfg: DictConfig):
    """An untrained :class:`AlloyVAE` from the ``model``, ``prior``, ``semi``, ``weak``, ``pretrain``, ``trainer`` and
    ``logger`` groups (every setting checked here, before a run folder exists)."""
    from vae_design.api import AlloyVAE
    from vae_design.training.settings import TrainingSettings

    trainer, logger = settings(cfg, "trainer"), settings(cfg, "logger")
    training = TrainingSettings(**asdict(trainer), loggers=logger.loggers if logger else ())
    return AlloyVAE(
        target=str(cfg.data.target),
        prior=OmegaConf.to_container(cfg.prior, resolve=True),
        model=settings(cfg, "model"),
        training=training,
        **{key: settings(cfg, key) for key in ("weak", "pretrain", "semi")},
    )


def run_data_summary(cfg: DictConfig, overrides: list[str]) -> int:
    from vae_design.data.summary import summarise
    from vae_design.runs import write_data_report

    table, split = load_dataset(cfg)
    print(summarise(table, split))
    if cfg.data.report:
        write_data_report(table, Path(str(cfg.data.report)))
        print(f"wrote {len(table.problems)} data problems to {cfg.data.report}")
    return 0


def run_train(cfg: DictConfig, overrides: list[str]) -> int:
    from vae_design.runs import train_run, train_summary, write_data_report

    resume = cfg.resume
    table, split = load_dataset(cfg)
    model = build_model(cfg)
    out = run_dir(cfg).absolute()
    run = train_run(
        model,
        table,
        split,
        out,
        cfg.seed,
        resume,
        cfg.data.elements,
        lambda folder: save_config(cfg, overrides, folder),
    )
    if run is not None:  # rank 0
        if cfg.data.report:
            write_data_report(table, Path(str(cfg.data.report)))
        print(train_summary(run.metrics, out, run.plots))
    return 0


def load_model(cfg: DictConfig, overrides: list[str]):
    """The model bundle named by ``bundle=`` (or its old name ``model=``, as the user spelled it in ``overrides``);
    a missing or foreign folder is a one-line error."""
    from vae_design.api import AlloyVAE

    if cfg.bundle is None or not str(cfg.bundle).strip():
        raise InputError("bundle=PATH is required: the model/ folder of a training run (RUN_DIR/model)")
    path = Path(str(cfg.bundle))
    key = "model" if any(text.startswith("model=") for text in overrides) else "bundle"
    if not path.is_dir():
        raise InputError(f"{key}={path}: no such folder (pass the model/ folder of a training run)")
    return AlloyVAE.load(path)


def run_predict(cfg: DictConfig, overrides: list[str]) -> int:
    from vae_design.runs import predict_file, predict_formula

    if (cfg.input is None) == (cfg.formula is None):
        raise InputError("give either input=FILE.csv or formula=FORMULA (exactly one)")
    model = load_model(cfg, overrides)
    if cfg.formula is not None:
        print(predict_formula(model, str(cfg.formula)))
        return 0
    table = predict_file(model, str(cfg.input), str(cfg.formula_col))
    out = run_dir(cfg)
    with staged_run_dir(out) as staging:
        table.to_csv(staging / "predictions.csv", index=False, float_format="%.6g")
        save_config(cfg, overrides, staging)
    print(f"wrote predictions for {len(table)} alloys to {out / 'predictions.csv'}")
    return 0


def run_featurize(cfg: DictConfig, overrides: list[str]) -> int:
    from vae_design.runs import featurize_file

    with progress_bar("featurizing", at_least=200_000) as report:  # a bar only for files large enough to wait for
        table = featurize_file(str(cfg.input), str(cfg.formula_col), cfg.batch_size, report)
    out = run_dir(cfg)
    with staged_run_dir(out) as staging:
        table.to_csv(staging / "descriptors.csv", index=False, float_format="%.10g")
        save_config(cfg, overrides, staging)
    print(f"wrote {len(table)} alloys x {table.shape[1] - 1} descriptors to {out / 'descriptors.csv'}")
    return 0
