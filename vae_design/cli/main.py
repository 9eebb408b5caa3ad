"""The ``vae-design`` console script: sub-commands over Hydra-composed configs.

Each sub-command composes ``configs/<name>.yaml`` with the user's ``key=value`` overrides (Hydra 1.3 syntax:
``data=csv``, ``data.path=alloys.csv``, ``hydra.run.dir=OUT``) and calls a plain function with the config.
The config is composed with Hydra's compose API rather than ``@hydra.main`` so that every input is checked
before the run directory is created: bad input ends with one line on stderr, exit code 2, and nothing written.
"""

from __future__ import annotations

import itertools
import re
import sys
from dataclasses import dataclass

from vae_design.errors import InputError
from vae_design.resources import config_dir


@dataclass(frozen=True)
class Command:
    config: str  # config name under configs/
    summary: str  # one line for the overview
    run: str  # "function" in vae_design.cli.commands, or "module:function" under vae_design.cli
    description: str = ""  # the --help text; empty: the header comment of configs/<config>.yaml

    def help_text(self) -> str:
        if self.description:
            return self.description
        lines = (config_dir() / f"{self.config}.yaml").read_text(encoding="utf-8").splitlines()
        header = itertools.takewhile(lambda line: line.startswith("#"), lines)
        return "\n".join(line[2:] if line.startswith("# ") else line[1:] for line in header)

    def function(self):
        """The run function, imported on use. (Usage errors answer without torch; `--help` and compose() import the
        settings dataclasses, which bring torch and pandas: about 2 s.)"""
        import importlib

        module, _, name = self.run.rpartition(":")
        return getattr(importlib.import_module(f"vae_design.cli.{module or 'commands'}"), name)


COMMANDS: dict[str, Command] = {
    "train": Command("train", "train the semi-supervised VAE; write metrics, the model bundle and plots", "run_train"),
    "predict": Command(
        "predict",
        "P(single phase) and its uncertainty for alloys in a CSV file, or one formula",
        "run_predict",
    ),
    "generate": Command(
        "generate",
        "candidate alloys from a trained model: latent decoding, screening, or inversion of a seed alloy",
        "generate:run_generate",
    ),
    "inspect": Command(
        "inspect",
        "explain the classifier head and the latent space: report.md, inspect.json, figures",
        "inspect_command:run_inspect",
    ),
    "featurize": Command("featurize", "physics descriptors of every alloy in a CSV file", "run_featurize"),
    "update": Command("update", "fold measured alloys into a trained model and retrain it", "update:run_update"),
    "suggest": Command("suggest", "which alloys to make next: a diverse batch by acquisition", "suggest:run_suggest"),
    "data summary": Command(
        "train",
        "counts per class, per source, element frequencies, number-of-elements histogram",
        "run_data_summary",
        description=(
            "Load the data a training run would use (same data= and split= overrides as `vae-design train`)\n"
            "and print what is in it, with the split sizes.\n\n"
            "  example: vae-design data summary\n"
            "  example: vae-design data summary data=csv data.path=alloys.csv split=grouped"
        ),
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
    added with ``+key=...`` that no command would read, or a value of the wrong type is a one-line error."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import ConfigCompositionException

    from vae_design.cli.settings import group_options, register, typed_error

    register()
    overrides = quote_formulas(overrides)
    if config != "train":  # model=PATH, the bundle's old name (it collided with train's model config group)
        overrides = [
            "bundle=" + text.removeprefix("model=") if text.startswith("model=") else text for text in overrides
        ]
    groups = [text for text in overrides if group_options(text.split("=", 1)[0].lstrip("+~"))]
    added = [text.split("=", 1)[0][1:] for text in overrides if text.startswith("+") and not text.startswith("++")]
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        try:
            cfg = hydra_compose(config_name=config, overrides=overrides, return_hydra_config=True)
        except ConfigCompositionException as error:
            typed = typed_error(error.__cause__ or error)
            if typed is not None:
                raise typed from None
            match = re.match(r"Could not override '([^']+)'", str(error))
            if match is None:
                raise
            base = hydra_compose(config_name=config, overrides=groups)
            raise unknown_key(match.group(1), _flat_keys(base)) from None
        new = [key for key in added if not key.startswith("hydra.") and not group_options(key)]
        if new:
            base = hydra_compose(config_name=config, overrides=groups)
            known = _flat_keys(base)
            for key in new:
                if key not in known:
                    raise unknown_key(key, known)
    return cfg


def _overview() -> str:
    lines = ["usage: vae-design <command> [key=value ...]", "", "commands:"]
    lines += [f"  {name:<14} {command.summary}" for name, command in COMMANDS.items()]
    lines += ["", "`vae-design <command> --help` shows a command's options and its default config."]
    return "\n".join(lines)


def _help(name: str, command: Command) -> str:
    from omegaconf import OmegaConf

    from vae_design.cli.settings import group_options

    cfg = compose(command.config, [])
    # Only the groups this command's config draws from (its defaults list), with their options.
    defaults = OmegaConf.load(config_dir() / f"{command.config}.yaml").get("defaults", [])
    groups = [
        str(next(iter(entry))).removeprefix("optional ")
        for entry in defaults
        if isinstance(entry, dict) or OmegaConf.is_dict(entry)
    ]
    options = {g: group_options(g) for g in groups}
    shown = OmegaConf.to_yaml(OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"]), resolve=False)
    lines = [
        f"usage: vae-design {name} [key=value ...]",
        "",
        command.help_text(),
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
        from vae_design.version import __version__

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
        code = command.function()(cfg, overrides)
        if command.config != "train" and any(arg.startswith("model=") for arg in overrides):
            # after the run, so that bad input stays one line
            print(f"vae-design {name}: note: model=PATH is now bundle=PATH (model= still works)", file=sys.stderr)
        return code
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
