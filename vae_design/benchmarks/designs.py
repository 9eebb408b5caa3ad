"""Designed alloys judged by the independent oracle (:class:`PhaseOracle`): shared by ``scripts/bench_design.py``
and ``scripts/bench_disentanglement.py``."""

from __future__ import annotations

import numpy as np

from vae_design.benchmarks.oracle import PhaseOracle
from vae_design.data import load_table, parse_formula
from vae_design.design import AlloyConstraints, ScoringSettings, latent_designs
from vae_design.design.settings import LatentSettings
from vae_design.design.workflows import latents

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
    """Latent designs of both classes, z_y ~ p(z_y | target), z_n from ``mode["nuisance"]`` (default the generate
    default: each class's density; ``"fitted"``, ``"prior"``: the same draws for both classes), spread times
    ``mode["temperature"]``, the same element counts, head guidance and head filter as ``mode`` says, judged by the
    oracle. ``flip_changes_alloy`` (same z_n, the other class's z_y) only where both classes share their z_n."""
    constraints = AlloyConstraints.from_settings(model.vocabulary)  # the generate defaults (design/settings.py)
    figures, formulas = {}, {}
    nuisance = mode.get("nuisance", LATENT.nuisance)
    for target in (1, 0):
        z, sizes = latents(
            model, n, constraints, target, "prior", seed, temperature=mode["temperature"], nuisance=nuisance
        )
        designs = latent_designs(
            model,
            z,
            sizes,
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
        figures[prefix + "five_or_more"] = float((table["n_elements"] >= 5).mean()) if len(table) else 0.0
        # Distinct designs the head calls single phase and novel (> novel_above from every known alloy): the
        # model's own count, what defaults are chosen on; beside it the oracle's count at >= 10 at.% and their sets
        distinct_verdict = verdict[~table["formula"].duplicated().to_numpy()] >= 0.5  # distinct's rows, in order
        head_novel = distinct["novel"] & (distinct["probability"] >= 0.5)
        figures[prefix + "novel_head_single_phase"] = float(head_novel.sum())
        far = (distinct["distance"] >= 10.0).to_numpy() & distinct_verdict
        figures[prefix + "novel_oracle_single_phase_10"] = float(far.sum())
        sets = distinct["formula"][far].map(lambda f: "-".join(sorted(parse_formula(f))))
        figures[prefix + "novel_oracle_single_phase_10_sets"] = float(sets.nunique())
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
    # Same z_n and element count, z_y drawn for the other class: how often does the decoded alloy change at all?
    both = sorted(set(formulas[0]) & set(formulas[1])) if nuisance != "class" else []
    figures["flip_changes_alloy"] = float(np.mean([formulas[0][i] != formulas[1][i] for i in both])) if both else np.nan
    return figures


def intervention_seeds(model, known_alloys):
    """The intervention's seeds: held-out (val and test) multi-phase alloys whose element set and element count the
    default constraints allow. Returns (formulas (list), compositions (N, E) tensor)."""
    import torch

    from vae_design.models.networks import element_count

    constraints = AlloyConstraints.from_settings(model.vocabulary)
    held = known_alloys[known_alloys["part"].isin(["val", "test"]) & (known_alloys["label"] == 0)]
    x = model.vocabulary.to_tensor([parse_formula(f) for f in held["formula"]])
    inside = ~((x > 1e-6) & ~constraints.mask()).any(-1)
    inside &= torch.isin(element_count(x), torch.tensor(constraints.feasible_sizes()))
    return list(held["formula"][inside.numpy()]), x[inside]


def intervention_quality(model, oracle, known_alloys, n_max: int = 500) -> dict[str, float]:
    """The metallurgist's intervention, judged by the oracle: held-out (val and test) multi-phase alloys whose
    element set meets the default constraints (:func:`intervention_seeds`), encoded, their target factor set to
    the single-phase class's mean (nuisance factor and element count kept), decoded under the default
    constraints (the ``flip y`` stage of the invert workflow). ``flip_single_phase``: the oracle's single-phase
    share of the decodes; ``flip_change``: median change (at.%, half the L1 distance);
    ``flip_same_set_single_phase``: single phase and on the seed's own element set; ``flip_seed_single_phase``:
    the oracle on the seeds themselves; ``flip_keep_*``: the same with the seed's elements kept
    (``invert.keep_elements``: only the fractions move)."""
    from vae_design.design.sampler import decode_constrained
    from vae_design.models.networks import element_count

    constraints = AlloyConstraints.from_settings(model.vocabulary)
    x = intervention_seeds(model, known_alloys)[1][:n_max]
    present, counts = x > 1e-6, element_count(x)
    if not len(x):
        return {"flip_n": 0.0}
    vae = model.vae
    flipped = vae.with_target(vae.encode(x), 1)
    grid, valid = decode_constrained(vae, flipped, counts, constraints)
    fractions = constraints.to_fractions(grid)
    verdict = oracle.predict_proba(model.vocabulary.to_compositions(fractions))
    single = (verdict >= 0.5) & valid.numpy()
    same_set = ((fractions > 0) == present).all(-1).numpy()
    seeds = oracle.predict_proba(model.vocabulary.to_compositions(x))
    kept_grid, kept_valid = decode_constrained(vae, flipped, counts, constraints, only=present)
    kept_fractions = constraints.to_fractions(kept_grid)
    kept_verdict = oracle.predict_proba(model.vocabulary.to_compositions(kept_fractions)) >= 0.5
    return {
        "flip_keep_single_phase": float((kept_verdict & kept_valid.numpy()).mean()),
        "flip_keep_change": float((50 * (kept_fractions - x.double()).abs().sum(-1)).median()),
        "flip_n": float(len(x)),
        "flip_single_phase": float(single.mean()),
        "flip_change": float((50 * (fractions - x.double()).abs().sum(-1)).median()),
        "flip_same_set_single_phase": float((single & same_set).mean()),
        "flip_seed_single_phase": float((seeds >= 0.5).mean()),
    }
