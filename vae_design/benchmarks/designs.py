"""Designed alloys judged by the independent oracle (:class:`PhaseOracle`): shared by ``scripts/bench_design.py``
and ``scripts/bench_disentanglement.py``."""

from __future__ import annotations

import numpy as np

from vae_design.benchmarks.oracle import PhaseOracle
from vae_design.data import load_table, parse_formula
from vae_design.design import AlloyConstraints, ScoringSettings, latent_designs
from vae_design.design.sampler import prior_latents
from vae_design.design.settings import LatentSettings

LATENT = LatentSettings()  # guidance settings a mode leaves out are the generate defaults


def oracle_fit(seed: int) -> tuple[PhaseOracle, dict[str, float]]:
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    alloys = load_table().alloys
    labelled = alloys[alloys["label"].notna()]
    compositions, labels = list(labelled["composition"]), labelled["label"].to_numpy(dtype=int)
    scores = np.zeros(len(labels))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(compositions, labels):
        fold = PhaseOracle(seed=seed).fit([compositions[i] for i in train], labels[train])
        scores[test] = fold.predict_proba([compositions[i] for i in test])
    figures = {
        "oracle_n": float(len(labels)),
        "oracle_cv_accuracy": accuracy_score(labels, scores >= 0.5),
        "oracle_cv_auc": roc_auc_score(labels, scores),
    }
    return PhaseOracle(seed=seed).fit(compositions, labels), figures


def design_quality(model, oracle, known, n: int, seed: int, mode: dict) -> dict[str, float]:
    """Latent designs of both classes from the same z (z ~ N(0, temperature^2 I)), head guidance and head filter as
    ``mode`` says, judged by the oracle."""
    constraints = AlloyConstraints.from_settings(model.vocabulary)  # the generate defaults (design/settings.py)
    z = prior_latents(n, model.vae.config.z_dim, seed) * mode["temperature"]
    figures, formulas = {}, {}
    for target in (1, 0):
        designs = latent_designs(
            model,
            z,
            target,
            constraints,
            known,
            ScoringSettings(),
            guide_steps=mode["guide_steps"],
            guide_step_size=mode.get("guide_step_size", LATENT.guide_step_size),
            guide_pull=mode.get("guide_pull", LATENT.guide_pull),
        )
        valid = designs.table
        table = valid[valid["target_probability"] >= mode["min_probability"]]
        formulas[target] = dict(zip(valid["latent_index"], valid["formula"], strict=True))
        distinct = table.drop_duplicates("formula")
        verdict = oracle.predict_proba([parse_formula(f) for f in table["formula"]])
        prefix = f"y{target}_"
        figures[prefix + "validity"] = len(valid) / n
        figures[prefix + "accepted"] = len(table) / n
        figures[prefix + "uniqueness"] = len(distinct) / max(len(table), 1)
        figures[prefix + "kept_distinct"] = float(len(distinct))  # what generate n=N writes
        figures[prefix + "novelty"] = float(distinct["novel"].mean()) if len(distinct) else float("nan")
        figures[prefix + "in_domain"] = float(distinct["in_domain"].mean()) if len(distinct) else float("nan")
        figures[prefix + "oracle_single_phase"] = float((verdict >= 0.5).mean()) if len(table) else float("nan")
        figures[prefix + "head_single_phase"] = float((table["probability"] >= 0.5).mean()) if len(table) else 0.0
        figures[prefix + "mean_elements"] = float(table["n_elements"].mean()) if len(table) else 0.0
        # The same designs restricted to novel ones (latent.novel_only=true)
        novel = (table["novel"]).to_numpy()
        figures[prefix + "novel_accepted"] = float(novel.sum()) / n
        figures[prefix + "oracle_single_phase_novel"] = (
            float((verdict[novel] >= 0.5).mean()) if novel.any() else float("nan")
        )
        print(
            f"  target={target}: {len(valid)} valid of {n}, {len(table)} kept; oracle single phase "
            f"{figures[prefix + 'oracle_single_phase']:.3f}; e.g. {', '.join(distinct['formula'].head(4))}"
        )
    # Same z, y flipped: how often does the decoded alloy change at all, and by how much?
    both = sorted(set(formulas[0]) & set(formulas[1]))
    figures["flip_changes_alloy"] = float(np.mean([formulas[0][i] != formulas[1][i] for i in both])) if both else 0.0
    return figures
