"""The ``vae-design`` console script: sub-commands over Hydra-composed configs.

Each sub-command composes ``configs/<name>.yaml`` with the user's ``key=value`` overrides (Hydra 1.3 syntax:
``data=csv``, ``data.path=alloys.csv``, ``hydra.run.dir=OUT``) and calls a plain function with the config.
The config is composed with Hydra's compose API rather than ``@hydra.main`` so that every input is checked
before the run directory is created: bad input ends with one line on stderr, exit code 2, and nothing written.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from vae_design.errors import InputError
from vae_design.resources import config_dir


@dataclass(frozen=True)
class Command:
    config: str  # config name under configs/
    summary: str  # one line for the overview
    description: str  # the --help text
    run: str  # "function" in vae_design.cli.commands, or "module:function" under vae_design.cli

    def function(self):
        """The run function, imported on use so that `--help` and usage errors answer without torch and pandas."""
        import importlib

        module, _, name = self.run.rpartition(":")
        return getattr(importlib.import_module(f"vae_design.cli.{module or 'commands'}"), name)


COMMANDS: dict[str, Command] = {
    "train": Command(
        "train",
        "train the semi-supervised VAE; write metrics, the model bundle and plots",
        "Train on the labelled + unlabelled alloys of data= (the embedded default, or data=csv with your files),\n"
        "early-stopping on the validation part, then evaluate on the test part. Writes into OUT:\n"
        "  metrics.json      flat figures: test/auc, test/accuracy, val/*, recon/*, latent/probe_auc, train/seconds\n"
        "  model/            the bundle predict, generate and inspect load (model=OUT/model)\n"
        "  roc.png, latent.png, reconstruction.png\n"
        "  checkpoints/, logs/, tensorboard/   (resume=true continues an interrupted run in the same OUT)\n\n"
        "  example: vae-design train hydra.run.dir=runs/default\n"
        "  example: vae-design train experiment=reference trainer.max_epochs=40 hydra.run.dir=runs/reference\n"
        "  example: vae-design train data=csv data.labelled=A.csv data.unlabelled=B.csv trainer=gpu",
        "run_train",
    ),
    "predict": Command(
        "predict",
        "P(single phase) and its uncertainty for alloys in a CSV file, or one formula",
        "Load a trained model (model=RUN_DIR/model) and predict for each row of input=FILE.csv (column 'formula',\n"
        "renamed with formula_col=...). Writes OUT/predictions.csv: formula (as written), probability\n"
        "(P(single phase)), uncertainty (its standard deviation over the head's posterior), and for\n"
        "data.target=phase models one probability_<class> column per class. formula=... instead of input\n"
        "prints one line and writes nothing.\n\n"
        "  example: vae-design predict model=runs/default/model input=alloys.csv hydra.run.dir=out\n"
        "  example: vae-design predict model=runs/default/model formula=AlCoCrFeNi",
        "run_predict",
    ),
    "generate": Command(
        "generate",
        "candidate alloys from a trained model: latent decoding, screening, or inversion of a seed alloy",
        "Load a trained model (model=RUN_DIR/model) and design alloys of class target= (1 single phase,\n"
        "0 multi-phase).\n"
        "  workflow=latent  decode n latents (latent.source=prior|grid|seed|given) with y = target, apply the\n"
        "                   constraints, re-score each alloy with the head, keep the valid (and distinct) ones\n"
        "  workflow=screen  enumerate every on-grid alloy of screen.palette within screen.spread at.% of equiatomic,\n"
        "                   score all with the head in batches, keep the n best (screen.parquet: all of them)\n"
        "  workflow=invert  from seed_alloy, flip y to target and follow the head's gradient through the latent\n"
        "                   space to the first decoded alloy with P(target) >= invert.threshold; writes the path\n"
        "  latent.temperature scales prior draws; latent.guide_steps moves each z up the head's P(target) first;\n"
        "  latent.min_probability and latent.novel_only keep only confident / novel designs.\n"
        "constraints.*: allowed/forbidden elements, min/max number of elements, min/max at.% per element, grid step.\n"
        "Writes into OUT:\n"
        "  candidates.csv   formula, probability (P(single phase)), uncertainty, target_probability, nearest_known,\n"
        "                   distance (at.%), novel, in_domain, descriptors, at.% per element, latent z1..zD\n"
        "  summary.json     validity, uniqueness, novelty, in-domain share, diversity (invert: the path's figures)\n"
        "  latent.png, delta_vs_dH.png   (screen with more than 100,000 candidates: also screen.parquet)\n\n"
        "  example: vae-design generate model=runs/default/model workflow=latent n=1000 target=1 hydra.run.dir=out\n"
        "  example: vae-design generate model=runs/default/model latent.temperature=1.5 latent.guide_steps=100 "
        "latent.min_probability=0.8\n"
        "  example: vae-design generate model=runs/default/model workflow=screen n=200 "
        "screen.palette=[Al,Co,Cr,Fe,Ni,Ti] constraints.min_elements=5\n"
        "  example: vae-design generate model=runs/default/model workflow=invert seed_alloy=AlCoCrFeNiTi0.5 target=1\n"
        "  example: vae-design generate model=runs/default/model constraints.forbidden=[Co] constraints.grid=5",
        "generate:run_generate",
    ),
    "inspect": Command(
        "inspect",
        "explain the classifier head and the latent space: report.md, inspect.json, figures",
        "Load a trained model (model=RUN_DIR/model) and write into OUT a report a metallurgist can read:\n"
        "  report.md         what drives the prediction, in plain words, with the figures below\n"
        "  inspect.json      every number of the report: shap (descriptor -> mean |SHAP|), posterior (descriptor ->\n"
        "                    mean, lo, hi, prior_mean, prior_scale), fim (eigenvalues, condition_number,\n"
        "                    effective_dimension, pruning), formula (expression, latex, n_terms, auc_val, auc_test),\n"
        "                    comparison (head, formula, empirical rules), latent (probe AUC, mutual information)\n"
        "  shap_values.csv   per explained alloy: P(single phase), log-odds, base value, each SHAP value\n"
        "  shap_beeswarm.png, shap_alloys.png, posterior.png, fisher.png, formula.png, latent_maps.png,\n"
        "  traversals.png\n"
        "Test alloys are rebuilt from the training run's own data and split (model/config.yaml), or read from\n"
        "test=FILE.csv (formula,label). alloy=FORMULA instead explains one alloy on stdout and writes nothing.\n\n"
        "  example: vae-design inspect model=runs/default/model hydra.run.dir=runs/default/inspect\n"
        "  example: vae-design inspect model=runs/default/model alloy=AlCoCrFeNi\n"
        "  example: vae-design inspect model=runs/default/model inspect.shap_alloys=200 test=my_test.csv",
        "inspect_command:run_inspect",
    ),
    "featurize": Command(
        "featurize",
        "physics descriptors of every alloy in a CSV file",
        "Compute k (GPa), vm (cm^3/mol), tm (K), vec, delta (%), dchi, dS_mix (J/mol/K), dH_mix (kJ/mol) and\n"
        "omega for each row of input=FILE.csv (column 'formula', renamed with formula_col=...).\n"
        "Writes OUT/descriptors.csv with column 'formula' (as written in the input) plus one column per\n"
        "descriptor.\n\n  example: vae-design featurize input=alloys.csv hydra.run.dir=out",
        "run_featurize",
    ),
    "data summary": Command(
        "train",
        "counts per class, per source, element frequencies, number-of-elements histogram",
        "Load the data a training run would use (same data= and split= overrides as `vae-design train`)\n"
        "and print what is in it, with the split sizes.\n\n"
        "  example: vae-design data summary\n"
        "  example: vae-design data summary data=csv data.path=alloys.csv split=grouped",
        "run_data_summary",
    ),
}
# Words that start two-word commands ("data" of "data summary").
COMMAND_GROUPS = {name.split()[0] for name in COMMANDS if " " in name}
MULTIRUN_FLAGS = ("-m", "--multirun")


# Settings whose values are formulas: `(CoCrFeNi)90Al10` is not Hydra override grammar, so they are quoted for it.
FORMULA_KEYS = ("formula", "seed_alloy", "alloy")


def quote_formulas(overrides: list[str]) -> list[str]:
    """``formula=(CoCrFeNi)90Al10`` as Hydra must read it (``formula='(CoCrFeNi)90Al10'``); quoted values as given."""
    quoted = []
    for text in overrides:
        key, equals, value = text.partition("=")
        if equals and key.lstrip("+~") in FORMULA_KEYS and value and value[0] not in "'\"":
            value = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        quoted.append(f"{key}{equals}{value}")
    return quoted


def _flat_keys(node, prefix: str = "") -> list[str]:
    from omegaconf import DictConfig

    keys = []
    for key in node:
        name = f"{prefix}{key}"
        value = node._get_node(key)
        keys.append(name)
        if isinstance(value, DictConfig):
            keys += _flat_keys(value, name + ".")
    return keys


def unknown_key(key: str, known: list[str]) -> InputError:
    """One line naming an unknown setting and the closest valid ones."""
    import difflib

    close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else " (`vae-design <command> --help` lists them)"
    return InputError(f"unknown setting {key}{hint}")


def compose(config: str, overrides: list[str]):
    """The composed config (with its ``hydra`` node, so ``hydra.run.dir`` is available). An unknown key, also one
    added with ``+key=...`` that no command would read, is a one-line error naming the closest valid keys."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import ConfigCompositionException
    from omegaconf import OmegaConf

    overrides = quote_formulas(overrides)
    # A plain key named like a config group (predict's model=PATH beside the model/ group of train) would be read
    # by Hydra as a group choice; such overrides are set on the composed config instead.
    own_keys = OmegaConf.load(config_dir() / f"{config}.yaml").keys()
    shadowing = {str(key) for key in own_keys if key != "defaults" and (config_dir() / str(key)).is_dir()}
    parser = OverridesParser.create()
    later = [parser.parse_override(text) for text in overrides if text.split("=", 1)[0] in shadowing]
    overrides = [text for text in overrides if text.split("=", 1)[0] not in shadowing]
    groups = [text for text in overrides if (config_dir() / text.split("=", 1)[0]).is_dir()]
    added = [text.split("=", 1)[0][1:] for text in overrides if text.startswith("+") and not text.startswith("++")]
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        try:
            cfg = hydra_compose(config_name=config, overrides=overrides, return_hydra_config=True)
        except ConfigCompositionException as error:
            match = re.match(r"Could not override '([^']+)'", str(error))
            if match is None:
                raise
            base = hydra_compose(config_name=config, overrides=groups)
            raise unknown_key(match.group(1), _flat_keys(base)) from None
        new = [key for key in added if not key.startswith("hydra.") and (config_dir() / key).is_dir() is False]
        if new:
            base = hydra_compose(config_name=config, overrides=groups)
            known = _flat_keys(base)
            for key in new:
                if key not in known:
                    raise unknown_key(key, known)
    for override in later:
        cfg[override.key_or_group] = override.value()
    return cfg


def _overview() -> str:
    lines = ["usage: vae-design <command> [key=value ...]", "", "commands:"]
    lines += [f"  {name:<14} {command.summary}" for name, command in COMMANDS.items()]
    lines += ["", "`vae-design <command> --help` shows a command's options and its default config."]
    return "\n".join(lines)


def _help(name: str, command: Command) -> str:
    from omegaconf import OmegaConf

    cfg = compose(command.config, [])
    # Only the groups this command's config draws from (its defaults list), with their options.
    defaults = OmegaConf.load(config_dir() / f"{command.config}.yaml").get("defaults", [])
    groups = [
        str(next(iter(entry))).removeprefix("optional ")
        for entry in defaults
        if isinstance(entry, dict) or OmegaConf.is_dict(entry)
    ]
    options = {g: sorted(f.stem for f in (config_dir() / g).glob("*.yaml")) for g in groups}
    shown = OmegaConf.to_yaml(OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"]), resolve=False)
    lines = [
        f"usage: vae-design {name} [key=value ...]",
        "",
        command.description,
        "",
        f"config (configs/{command.config}.yaml; change any key with key=value, e.g. hydra.run.dir=OUT):",
        *("  " + line for line in shown.rstrip().splitlines()),
    ]
    if options:
        lines += ["", "config groups (choose with group=option):"]
        lines += [f"  {group}: {', '.join(choices)}" for group, choices in options.items()]
    return "\n".join(lines)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    # OmegaConf appends "full_key: ... object_type=..." context that users do not need.
    return text.split(" full_key:")[0] or type(error).__name__


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code (0 ok, 2 bad input or usage)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if (
        not argv
        or argv[0] in ("-h", "--help", "help")
        or (argv[0] in COMMAND_GROUPS and argv[1:2] in ([], ["-h"], ["--help"]))
    ):
        print(_overview())
        return 0
    if argv[0] == "--version":
        from vae_design import __version__

        print(f"vae-design {__version__}")
        return 0
    name = argv[0]
    if name not in COMMANDS and " ".join(argv[:2]) in COMMANDS:
        name = " ".join(argv[:2])
    if name not in COMMANDS:
        known = ", ".join(COMMANDS)
        print(
            f"vae-design: error: unknown command '{' '.join(argv[:2]) if argv[0] in COMMAND_GROUPS else argv[0]}' "
            f"(commands: {known})",
            file=sys.stderr,
        )
        return 2
    command = COMMANDS[name]
    overrides = argv[len(name.split()) :]
    if any(arg in ("-h", "--help") for arg in overrides):
        print(_help(name, command))
        return 0
    # -m / --multirun: one job per combination of swept values (a=1,2), or an Optuna search (sweep=optuna)
    sweep = [arg for arg in overrides if arg in MULTIRUN_FLAGS]
    overrides = [arg for arg in overrides if arg not in sweep]
    flags = [arg for arg in overrides if arg.startswith("-")]
    if flags:
        print(
            f"vae-design {name}: error: unknown option '{flags[0]}'; settings are key=value overrides "
            f"(see vae-design {name} --help)",
            file=sys.stderr,
        )
        return 2
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        if sweep:
            from vae_design.cli.multirun import multirun

            return multirun(name, command, overrides)
        cfg = compose(command.config, overrides)
        return command.function()(cfg, overrides)
    except InputError as error:
        print(f"vae-design {name}: error: {error}", file=sys.stderr)
    except (HydraException, OmegaConfBaseException) as error:
        print(f"vae-design {name}: error: {_one_line(error)}", file=sys.stderr)
    except OSError as error:  # unreadable input, full disk, read-only output folder
        place = f" ({error.filename})" if error.filename else ""
        print(f"vae-design {name}: error: {error.strerror or error}{place}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
