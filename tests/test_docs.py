"""The documentation site (docs/, mkdocs.yml) builds with warnings as errors, offline: every page in the nav, every
link and anchor resolved, the API pages generated from the docstrings, the notebooks as tutorials. Its pages name
real paths, show real commands whose settings compose, and its layout page lists every notebook, script and
package."""

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.test_readme import PATH, bash_commands, split_command
from vae_design.cli.main import COMMANDS, compose

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))


def test_the_site_builds_strictly(tmp_path):
    site = tmp_path / "site"
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    result = subprocess.run(build, cwd=ROOT, capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (site / "index.html").is_file()
    for notebook in ROOT.glob("notebooks/*.ipynb"):
        assert (site / "tutorials" / notebook.stem / "index.html").is_file(), notebook.name
    api = (site / "api" / "alloyvae" / "index.html").read_text(encoding="utf-8")
    assert "vae_design.api.AlloyVAE.predict_proba" in api  # generated from the docstrings
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "Main job" in home and "mkdocs serve" not in home  # the README, less its note on building the site


def test_every_path_the_docs_name_exists():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        missing = sorted({p for p in PATH.findall(text) if not (ROOT / p).exists() and "<" not in p})
        assert not missing, f"{page.name} names paths that do not exist: {missing}"


def test_every_command_the_guide_shows_is_real_and_composes():
    for page in PAGES:
        if page.name in ("benchmarks.md", "reliability.md"):  # records of measurements, commands as then run
            continue
        for words in bash_commands(page.read_text(encoding="utf-8")):
            if "-m" in words or any("..." in w for w in words):
                continue
            name, overrides = split_command(words)
            assert name in COMMANDS, f"{page.name} shows a command that does not exist: vae-design {' '.join(words)}"
            compose(COMMANDS[name].config, overrides)


def test_the_layout_lists_every_notebook_script_and_package():
    layout = (ROOT / "docs" / "layout.md").read_text(encoding="utf-8")
    for path in [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("scripts/*.py")]:
        assert path.stem in layout, f"docs/layout.md does not list {path.relative_to(ROOT)}"
    folder = ROOT / "vae_design"
    parts = [p for p in folder.iterdir() if (p.is_dir() and p.name != "__pycache__") or p.suffix == ".py"]
    for package in parts:
        if package.name not in ("__init__.py", "errors.py", "outputs.py", "resources.py"):
            assert f"vae_design/{package.name}" in layout, f"docs/layout.md does not list vae_design/{package.name}"


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = [p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")]
    missing = [page for page in pages if not re.search(rf":\s*{re.escape(page)}\s*$", nav, re.M)]
    assert not missing, f"pages missing from mkdocs.yml's nav: {missing}"
