"""The README is what a user reads first, and stays true: every path and link it names exists inside the repository,
it speaks of no issue numbers, every `vae-design` command it shows is a real sub-command whose settings compose,
the example files it uses parse, and (slow) its commands run as printed, one after another."""

import re
import shlex
import shutil
from pathlib import Path

import pytest

from vae_design.cli.main import COMMANDS, compose, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PATH = re.compile(r"(?<![\w/.-])((?:vae_design|configs|notebooks|scripts|docs|tests|examples)/[\w./-]*\w)(?![*\w])")


def bash_commands(markdown: str) -> list[list[str]]:
    """Every `vae-design ...` command in the ```bash blocks of ``markdown``, as argument lists (comments dropped,
    commands joined with && split)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", markdown, re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            while words:
                part, words = (
                    (words[: words.index("&&")], words[words.index("&&") + 1 :]) if "&&" in words else (words, [])
                )
                if part[0] == "vae-design":
                    commands.append(part[1:])
    return commands


def split_command(words: list[str]) -> tuple[str, list[str]]:
    """(sub-command, overrides) of a command's arguments."""
    name = " ".join(words[:2]) if " ".join(words[:2]) in COMMANDS else words[0]
    return name, words[len(name.split()) :]


def test_every_path_the_readme_names_exists():
    missing = sorted({p for p in PATH.findall(README) if not (ROOT / p).exists()})
    assert not missing, f"README names paths that do not exist: {missing}"


def test_every_readme_link_stays_in_the_repository_and_exists():
    links = [link.split("#")[0] for link in re.findall(r"\]\(([^)\s]+)\)", README)]
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert local, "the README links into the documentation"
    outside = [link for link in local if link.startswith(("/", "..")) or not (ROOT / link).exists()]
    assert not outside, f"README links outside the repository or to nothing: {outside}"


def test_the_readme_speaks_to_users_not_to_the_tracker():
    assert not re.search(r"\bissues? #?\d+", README, re.I), "README mentions issue numbers"
    assert len(README.splitlines()) < 150, "reference material belongs in docs/, not the README"
    for heading in ("## Install", "## Main job", "## Tests", "## Commands"):
        assert heading in README


def test_the_readme_test_command_is_what_ci_runs():
    assert "python -m pytest -q\n" in README
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").rstrip().endswith("python -m pytest -q")


def test_every_readme_command_is_a_real_sub_command_whose_settings_compose():
    commands = bash_commands(README)
    assert len(commands) >= len(COMMANDS), "one example per command"
    shown = set()
    for words in commands:
        name, overrides = split_command(words)
        assert name in COMMANDS, f"README shows a command that does not exist: vae-design {' '.join(words)}"
        compose(COMMANDS[name].config, overrides)  # an unknown key or a bad value raises InputError
        shown.add(name)
    assert shown == set(COMMANDS), f"README shows no example of {sorted(set(COMMANDS) - shown)}"


def test_the_example_files_the_readme_uses_are_read_as_it_says(tmp_path):
    assert main(["featurize", "input=examples/alloys.csv", f"hydra.run.dir={tmp_path / 'f'}"]) == 0
    assert len((tmp_path / "f" / "descriptors.csv").read_text().splitlines()) == 1 + len(
        (ROOT / "examples" / "alloys.csv").read_text().splitlines()[1:]
    )
    results = (ROOT / "examples" / "results.csv").read_text().splitlines()
    assert results[0] == "formula,label" and all(line.rsplit(",", 1)[1] in "01" for line in results[1:])


# Appended to each README command (later overrides win) so that the chain runs in about a minute: the commands,
# their paths and the example files are the README's own.
SHRINK = {
    "train": ["trainer.max_epochs=1", "model.hidden=32", "model.embedding_hidden=16", "trainer.progress_bar=false"],
    "generate": ["n=30", "latent.guide_steps=2", "invert.steps=5", "scoring.shipped_datasets=false"],
    "suggest": ["generate.n=40", "generate.latent.guide_steps=2", "generate.scoring.shipped_datasets=false"],
    "update": ["max_epochs=1"],
}


@pytest.mark.slow
def test_the_readme_commands_run_as_printed(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    for words in bash_commands(README):
        name, overrides = split_command(words)
        code = main([*name.split(), *overrides, *SHRINK.get(name, [])])
        assert code == 0, f"vae-design {' '.join(words)} failed"
    assert (tmp_path / "runs" / "default" / "candidates" / "candidates.csv").is_file()
    assert (tmp_path / "runs" / "predictions" / "predictions.csv").is_file()
