"""Files shipped with the package: the configs/ folder (inside the wheel, or the repository's top level)."""

from __future__ import annotations

from pathlib import Path

import yaml

from vae_design.errors import InputError


def config_dir() -> Path:
    """configs/ inside an installed wheel, else the repository's top-level configs/."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "configs", package.parent / "configs"):
        if candidate.is_dir():
            return candidate
    raise RuntimeError("vae-design cannot find its configs/ folder; reinstall the package")


def prior_config(name: str) -> dict:
    """The expert prior ``configs/prior/<name>.yaml`` as a plain mapping."""
    path = config_dir() / "prior" / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in path.parent.glob("*.yaml")))
        raise InputError(f"no prior named '{name}' (shipped: {known})")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
