"""The model bundle: one self-describing folder that ``predict``, ``generate`` and ``inspect`` load.

model/
  weights.pt          state dict of the PhaseVAE (networks, head posterior, descriptor scalers as buffers)
  model.json          architecture (VAEConfig incl. the expert prior), target, package and library versions,
                      descriptor scalers by name (also in the weights; here for people and other tools)
  elements.txt        the element vocabulary, one symbol per line, in column order
  known_alloys.csv    the alloys the model was trained and validated on (formula, label, part), for novelty

:func:`warm_start` loads a trained model's weights into a new one where they fit (``update``'s warm start).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import torch

from vae_design.errors import InputError
from vae_design.models.neighbours import NeighbourEvidence
from vae_design.models.ssvae import PhaseVAE, VAEConfig

# 2: neighbours.pt; 3: h residualised; 4: independence, encoder inputs; 5: semi; 6: target factor z_y;
# 7: nuisance density per class and element count; 8: model.head_function and gp_inducing in the config (a format-7
# bundle is a network head and reads as one); 9: model.gp_composition (a format-8 gp head reads with its default,
# false: no composition term)
FORMAT = 9
READABLE = (7, 8, 9)


def save_bundle(
    path: Path, vae: PhaseVAE, target: str, known_alloys: pd.DataFrame, history: dict, neighbours: NeighbourEvidence
) -> Path:
    """Write the bundle into ``path`` (created; existing bundle files are replaced). The files are written into a
    staging folder and renamed into place only when all of them are complete: a failure while writing leaves the
    previous bundle (or no folder), never a half-written file."""
    import pyro

    from vae_design.outputs import staged_run_dir
    from vae_design.version import __version__

    scaler = vae.head.scaler
    meta = {
        "format": FORMAT,
        "vae_design_version": __version__,
        "torch_version": torch.__version__,
        "pyro_version": pyro.__version__,
        "target": target,
        "config": vae.config.to_dict(),
        "descriptor_scalers": {
            name: {"mean": float(m), "std": float(s)}
            for name, m, s in zip(scaler.names, scaler.mean.tolist(), scaler.std.tolist(), strict=True)
        },
        "history": history,
        # strength null: the measured-neighbour update is off (JSON has no infinity)
        "neighbours": {
            "scale": neighbours.scale,
            "strength": neighbours.strength if math.isfinite(neighbours.strength) else None,
            "k": neighbours.k,
        },
    }
    with staged_run_dir(path, setting="model bundle path") as staging:
        torch.save(vae.state_dict(), staging / "weights.pt")
        torch.save({"fractions": neighbours.fractions, "labels": neighbours.labels}, staging / "neighbours.pt")
        (staging / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (staging / "elements.txt").write_text("\n".join(vae.config.elements) + "\n", encoding="utf-8")
        known_alloys.to_csv(staging / "known_alloys.csv", index=False)
    return path


def load_bundle(path: Path) -> tuple[PhaseVAE, str, pd.DataFrame, dict, NeighbourEvidence]:
    """(vae, target, known alloys, training history, neighbour evidence) from a bundle folder; a missing or foreign
    folder is an InputError naming the file."""
    meta_path = path / "model.json"
    if not meta_path.is_file():
        raise InputError(f"{path}: not a vae-design model bundle (no model.json); pass bundle=RUN_DIR/model")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{meta_path}: unreadable ({error})") from None
    if meta.get("format") not in READABLE:
        writer = meta.get("vae_design_version", "an unknown version")
        raise InputError(
            f"{meta_path}: written by vae-design {writer} (bundle format {meta.get('format')!r}); this vae-design "
            f"reads formats {', '.join(map(str, READABLE[:-1]))} and {READABLE[-1]} (the latent's target and nuisance "
            "factors): retrain with vae-design train"
        )
    vae = PhaseVAE(VAEConfig.from_dict(meta["config"]))  # keys an older format lacks take their defaults
    try:
        state = torch.load(path / "weights.pt", map_location="cpu", weights_only=True)
        vae.load_state_dict(state)
    except (OSError, RuntimeError) as error:
        raise InputError(f"{path / 'weights.pt'}: cannot load the weights ({str(error).splitlines()[0]})") from None
    known = (
        pd.read_csv(path / "known_alloys.csv", dtype={"label": "Int64"})
        if (path / "known_alloys.csv").is_file()
        else pd.DataFrame()
    )
    settings = meta["neighbours"]
    strength = math.inf if settings["strength"] is None else float(settings["strength"])
    try:
        measured = torch.load(path / "neighbours.pt", map_location="cpu", weights_only=True)
    except OSError as error:
        raise InputError(f"{path / 'neighbours.pt'}: cannot load ({error})") from None
    neighbours = NeighbourEvidence(
        measured["fractions"], measured["labels"], vae.config.n_classes, settings["scale"], strength, settings["k"]
    )
    return vae.eval(), meta["target"], known, meta.get("history", {}), neighbours


# Buffers learned from the data (the descriptor scaler, refit by fit; the residualising projection; the density of
# the nuisance factor, fitted after training): they may differ between two models of one architecture. Every other
# buffer (element tables, expert prior, the target factor's class means) is fixed by it.
LEARNED_BUFFERS = (
    "scaler.mean",
    "scaler.std",
    "projection",
    "nuisance_density.loc",
    "nuisance_density.scale",
    "nuisance_density.weight",
    "nuisance_density.fitted",
)


def warm_start(vae: PhaseVAE, init: PhaseVAE | Mapping[str, torch.Tensor]) -> bool:
    """Load ``init``'s weights into the new ``vae`` where valid; False (nothing loaded) otherwise. Valid: a PhaseVAE
    with the same :class:`VAEConfig` (elements in the same order, architecture, prior, semi-supervision); a state
    dict with the same keys and shapes whose fixed buffers (element tables, prior) equal the new model's, which
    also catches a vocabulary of the same size in another order."""
    if isinstance(init, PhaseVAE):
        if init.config.to_dict() != vae.config.to_dict():
            return False
        init = init.state_dict()
    state, own = dict(init), vae.state_dict()
    if state.keys() != own.keys() or any(tuple(state[k].shape) != tuple(own[k].shape) for k in own):
        return False
    fixed = [name for name, _ in vae.named_buffers() if not name.endswith(LEARNED_BUFFERS)]
    if any(not torch.equal(state[name].to(own[name]), own[name]) for name in fixed if name in state):
        return False
    vae.load_state_dict(state)
    return True
