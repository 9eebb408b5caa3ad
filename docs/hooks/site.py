"""MkDocs hooks of the documentation site (mkdocs.yml: ``hooks``), offline and without a Jupyter kernel.

- Home: the site's home page is the repository's README.md, generated at build time with its links into
  ``docs/`` made site links and its paragraph on building the site left out, so the two never drift apart.
- Tutorials: every ``notebooks/*.ipynb`` becomes a page ``tutorials/<name>.md`` at build time, its markdown cells
  as they are and its code cells as Python blocks (the notebooks are stored without outputs; the test suite runs
  them), so the site always shows the notebooks as committed.
- Links into the repository: a page may link a source file the way the repository shows it
  (``../vae_design/models/semi.py``); such a link becomes a link to the module's API page, and a link to any other
  repository file (a script, a config) becomes its path in code, since the site holds no copy of it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
# top-level package -> API page (docs/api/<page>.md); modules not listed fall back to the package page
API_PAGES = {"api": "alloyvae", "runs": "runs", "data": "data", "features": "features", "models": "models",
             "training": "training", "design": "design", "inspect": "inspect"}  # fmt: skip
REPOSITORY_LINK = re.compile(r"\[([^\]]*)\]\((?:\.\./)+((?:vae_design|scripts|configs|notebooks|tests)/[^)#\s]*)\)")


def notebook_markdown(path: Path) -> str:
    """A notebook as a Markdown page: markdown cells verbatim, code cells as ``python`` blocks."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    parts = [f"*Notebook `notebooks/{path.name}`; run it with Jupyter, or read it here.*\n"]
    for cell in cells:
        source = "".join(cell["source"]).strip()
        if not source:
            continue
        parts.append(source if cell["cell_type"] == "markdown" else f"```python\n{source}\n```")
    return "\n\n".join(parts) + "\n"


def readme_markdown(text: str) -> str:
    """README.md as the site's home page: ``docs/`` links relative to the site, links to other repository folders
    as their path in code, the paragraph that says how to build this site left out."""
    paragraphs = [p for p in text.split("\n\n") if not p.startswith("Documentation:")]
    text = "\n\n".join(paragraphs).replace("](docs/", "](")
    return re.sub(r"\[([^\]]*)\]\(((?:examples|notebooks)/)\)", r"\1 (`\2`)", text)


def on_files(files, config):
    files.append(File.generated(config, "index.md", content=readme_markdown((ROOT / "README.md").read_text("utf-8"))))
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        files.append(File.generated(config, f"tutorials/{path.stem}.md", content=notebook_markdown(path)))
    return files


def _repository_link(match: re.Match, depth: int) -> str:
    text, target = match.group(1), match.group(2)
    if target.startswith("vae_design/") and target.endswith(".py"):
        module = target[: -len(".py")].replace("/", ".").removesuffix(".__init__")
        package = module.split(".")[1] if module.count(".") else "api"
        page = API_PAGES.get(package.removesuffix(".py"), "alloyvae")
        return f"[{text}]({'../' * depth}api/{page}.md#{module})"
    return f"`{target}`"


def on_page_markdown(markdown, page, config, files):
    depth = page.file.src_uri.count("/")
    return REPOSITORY_LINK.sub(lambda match: _repository_link(match, depth), markdown)
