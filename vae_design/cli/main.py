"""The ``vae-design`` console script: sub-commands over Hydra-composed configs.

Each sub-command composes ``configs/<name>.yaml`` with the user's ``key=value`` overrides (Hydra 1.3 syntax:
``data=csv``, ``data.path=alloys.csv``, ``hydra.run.dir=OUT``) and calls its plain function in
:mod:`vae_design.runs` with the settings as dataclasses. The config is composed with Hydra's compose API rather than
``@hydra.main`` so that every input is checked before the run directory is created: bad input ends with one line on
stderr, exit code 2, and nothing written.
"""

from __future__ import annotations

import functools
import itertools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from vae_design.errors import InputError
from vae_design.resources import config_dir


@dataclass(frozen=True)
class Command:
    run: str  # "module:function" under vae_design.runs; the module names the config too (configs/<module>.yaml)
    summary: str  # one line for the overview
    description: str = ""  # the --help text; empty: the header comment of the config

    @property
    def config(self) -> str:
        return self.run.partition(":")[0]

    def help_text(self) -> str:
        lines = (config_dir() / f"{self.config}.yaml").read_text(encoding="utf-8").splitlines()
        header = itertools.takewhile(lambda line: line.startswith("#"), lines)
        return self.description or "\n".join(line[2:] if line.startswith("# ") else line[1:] for line in header)

    def function(self):
        """The run function, imported on use (usage errors answer without torch; `--help` and compose() import the
        settings dataclasses, which bring torch and pandas: about 2 s)."""
        import importlib

        module, _, name = self.run.partition(":")
        return getattr(importlib.import_module(f"vae_design.runs.{module}"), name)


COMMANDS: dict[str, Command] = {
    "train": Command("train:train", "train the semi-supervised VAE; write metrics, the model bundle and plots"),
    "predict": Command(
        "predict:predict", "P(single phase), its spread over q(w), known-alloy records: a CSV file or a formula"
    ),
    "generate": Command("generate:generate", "candidate alloys from a trained model: decode, screen or invert"),
    "inspect": Command("inspect:inspect", "explain the head and the latent space: report.md, inspect.json, figures"),
    "featurize": Command("featurize:featurize", "physics descriptors of every alloy in a CSV file"),
    "update": Command("update:update", "fold measured alloys into a trained model and retrain it"),
    "suggest": Command("suggest:suggest", "which alloys to make next: a diverse batch by acquisition"),
    "data summary": Command(
        "train:data_summary",
        "counts per class, per source, element frequencies, number-of-elements histogram",
        "Load the data a training run would use (same data= and split= overrides as `vae-design train`)\n"
        "and print what is in it, with the split sizes.\n\n  example: vae-design data summary\n"
        "  example: vae-design data summary data=csv data.path=alloys.csv split=grouped",
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
    for key, _, value in (text.partition("=") for text in groups if text[0] not in "+~"):
        options = group_options(key)
        if value.strip("'\"") not in options:  # Hydra's would be many lines, or a TypeError (trainer=[1])
            raise InputError(f"{key}={value}: no such option; choose one of {'|'.join(options)}")
    added = [text.split("=", 1)[0].lstrip("+") for text in overrides if text.startswith("+")]
    deleted = [text.split("=", 1)[0][1:] for text in overrides if text.startswith("~")]
    for key in (key for key in deleted if not key.startswith(("hydra.", "hydra/"))):  # every command reads them all
        choose = f"choose one of its options ({key}={'|'.join(group_options(key))})" if group_options(key) else ""
        raise InputError(f"~{key}: a setting cannot be deleted; {choose or 'set it to another value (or null)'}")
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):

        def known() -> list[str]:  # the keys a command reads, with the config groups the user chose
            return _flat_keys(hydra_compose(config_name=config, overrides=groups))

        try:
            cfg = hydra_compose(config_name=config, overrides=overrides, return_hydra_config=True)
        except ConfigCompositionException as error:
            typed, match = typed_error(error.__cause__ or error), re.match(r"Could not override '([^']+)'", str(error))
            if typed is not None or match is None:
                raise typed or error from None
            raise unknown_key(match.group(1), known()) from None
        except (ValueError, TypeError) as error:  # Hydra's own check of an override: trainer=5, trainer=[1]
            raise InputError(str(error)) from None
        new = [key for key in added if not key.startswith(("hydra.", "hydra/")) and not group_options(key)]
        keys = known() if new else []
        for key in (key for key in new if key not in keys):
            raise unknown_key(key, keys)
    return cfg


def run(name: str, cfg, overrides: list[str], out: Path | None = None) -> None:
    """Call the command's plain function with the composed config's settings as dataclasses, in ``out`` (None:
    ``hydra.run.dir``); print what it returns."""
    from vae_design.cli.settings import command_settings, register, save_config

    command = COMMANDS[name]
    settings, keys = command_settings(cfg, register()[command.config], name)
    record = functools.partial(save_config, cfg, overrides)  # .hydra/ in the staged run folder
    text = command.function()(settings, out or Path(str(cfg.hydra.run.dir)), record, **keys)
    if text:
        print(text)


def _overview() -> str:
    lines = ["usage: vae-design <command> [key=value ...]", "", "commands:"]
    lines += [f"  {name:<14} {command.summary}" for name, command in COMMANDS.items()]
    lines += ["", "`vae-design <command> --help` shows a command's options and its default config."]
    return "\n".join(lines)


def _help(name: str, command: Command) -> str:
    from omegaconf import OmegaConf

    from vae_design.cli.settings import group_options

    cfg = compose(command.config, [])
    # Only the groups this command's config draws from (Hydra's choices, latest first), with their options.
    groups = [group for group in reversed(list(cfg.hydra.runtime.choices)) if not group.startswith("hydra/")]
    options = {group: group_options(group) for group in groups}
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


def one_line(error: BaseException) -> str | None:
    """The line an error is to the user; None for an error that is not the user's (a bug, shown in full)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(error, InputError):
        return str(error)
    if isinstance(error, (HydraException, OmegaConfBaseException)):  # less OmegaConf's "full_key: ..." context
        return " ".join(str(error).split()).split(" full_key:")[0] or type(error).__name__
    if isinstance(error, OSError):  # unreadable input, full disk, read-only output folder (after Hydra's IOErrors)
        return (error.strerror or str(error)) + (f" ({error.filename})" if error.filename else "")
    return None


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
    name = argv[0] if argv[0] in COMMANDS else " ".join(argv[:2])
    if name not in COMMANDS:
        known = ", ".join(COMMANDS)
        shown = " ".join(argv[:2]) if argv[0] in COMMAND_GROUPS else argv[0]
        return _error("vae-design", f"unknown command '{shown}' (commands: {known})")
    command, overrides = COMMANDS[name], argv[len(name.split()) :]
    if any(arg in ("-h", "--help") for arg in overrides):
        print(_help(name, command))
        return 0
    # -m / --multirun: one job per combination of swept values (a=1,2), or an Optuna search (sweep=optuna)
    sweep = [arg for arg in overrides if arg in MULTIRUN_FLAGS]
    overrides = [arg for arg in overrides if arg not in sweep]
    flags = [arg for arg in overrides if arg.startswith("-")]
    if flags:
        text = f"unknown option '{flags[0]}'; settings are key=value overrides (see vae-design {name} --help)"
        return _error(f"vae-design {name}", text)
    old_name = command.config != "train" and any(arg.startswith("model=") for arg in overrides)
    try:
        if sweep:
            from vae_design.cli.multirun import multirun

            return multirun(name, command, overrides)
        run(name, compose(command.config, overrides), overrides)
        if old_name:  # after the run, so that bad input stays one line
            print(f"vae-design {name}: note: model=PATH is now bundle=PATH (model= still works)", file=sys.stderr)
        return 0
    except Exception as error:
        text = one_line(error)
        if text is None:
            raise
    if old_name and text.startswith("bundle="):  # the setting as the user wrote it
        text = "model=" + text.removeprefix("bundle=")
    return _error(f"vae-design {name}", text)


def _error(who: str, text: str) -> int:
    print(f"{who}: error: {text}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
