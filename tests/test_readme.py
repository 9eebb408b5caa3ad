"""The README stays true to the repository: every path it names exists, every `vae-design` command it shows is a
real sub-command, and the layout lists every notebook and script."""

import re
from pathlib import Path

from vae_design.cli.main import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PATH = re.compile(r"(?<![\w/.-])((?:vae_design|configs|notebooks|scripts|docs|tests)/[\w./-]*\w)")


def test_every_path_the_readme_names_exists():
    missing = sorted({p for p in PATH.findall(README) if not (ROOT / p).exists()})
    assert not missing, f"README names paths that do not exist: {missing}"


def test_every_readme_command_is_a_real_sub_command():
    commands = re.findall(r"vae-design ((?:data )?[a-z]+)\b", "\n".join(re.findall(r"```bash\n(.*?)```", README, re.S)))
    assert commands
    unknown = sorted({c for c in commands if c not in COMMANDS})
    assert not unknown, f"README shows commands that do not exist: {unknown}"


def test_the_layout_lists_every_notebook_and_script():
    layout = README[README.index("## Layout") :]
    for path in [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("scripts/*.py")]:
        assert path.stem in layout, f"README's layout does not list {path.relative_to(ROOT)}"
    folder = ROOT / "vae_design"
    parts = [p for p in folder.iterdir() if (p.is_dir() and p.name != "__pycache__") or p.suffix == ".py"]
    for package in parts:
        if package.name not in ("__init__.py", "errors.py", "outputs.py", "resources.py"):
            assert f"vae_design/{package.name}" in layout, f"README's layout does not list vae_design/{package.name}"
