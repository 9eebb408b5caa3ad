"""What a user would do instead of the latent workflow, judged by the same oracle: ``scripts/bench_design.py
--compare``.

Four ways to propose ``n`` single-phase candidates under the default constraints (vae_design/design/settings.py):

* ``latent``: ``generate workflow=latent n=N target=1`` with every default (this model's designs);
* ``screen``: ``generate workflow=screen n=N target=1``: this model's head over the default palette's lattice;
* ``forest-screen``: a random forest (vae_design/benchmarks/peers.py: element fractions and the nine descriptors,
  500 trees) trained on the model's own training labels, scoring the same lattice in a seeded random order until
  the latent workflow's wall time is spent (equal wall time; neither the forest's fit nor the VAE's training is
  counted), keeping its best alloy per element set;
* ``pareto``: hea-bench's ``design.search`` over the same palette (4-6 elements, step 0.1, at most 30 at.% each,
  no domain filter), constrained to Zhang's delta and Yang's omega single-phase verdicts, its Pareto front of
  hardness (up) and raw-material cost (down).

A *hit* is a distinct candidate the oracle (:class:`~vae_design.benchmarks.oracle.PhaseOracle`) calls single phase
and at least ``HIT_DISTANCE`` at.% from every known alloy (the shipped datasets included); a hit's *set* is its
element set. The oracle is a random forest fitted on every labelled alloy: it shares its algorithm with the forest
screen and its training alloys with every model, so read the forest's figure as favoured by its judge.
"""

from __future__ import annotations

import time

import numpy as np

from vae_design.data import parse_formula
from vae_design.data.composition import canonical_formula

HIT_DISTANCE = 10.0  # at.%


def judge(formulas, seconds: float, oracle, known, vocabulary, n: int) -> dict[str, float]:
    """Oracle figures of the first ``n`` distinct candidates ``formulas`` found in ``seconds``."""
    distinct = list(dict.fromkeys(formulas))[:n]
    if not distinct:
        return {"candidates": 0.0, "seconds": seconds, "hits": 0.0, "hit_sets": 0.0}
    compositions = [parse_formula(f) for f in distinct]
    _, distance = known.nearest(vocabulary.to_tensor(compositions))
    single = oracle.predict_proba(compositions) >= 0.5
    hit = single & (distance >= HIT_DISTANCE)
    sets = {"-".join(sorted(c)) for c, h in zip(compositions, hit, strict=True) if h}
    counts = np.array([len(c) for c in compositions])
    return {
        "candidates": float(len(distinct)),
        "seconds": seconds,
        "oracle_single_phase": float(single.mean()),
        "far": float((distance >= HIT_DISTANCE).mean()),
        "hits": float(hit.sum()),
        "hit_sets": float(len(sets)),
        "hits_per_1000": 1000.0 * float(hit.sum()) / len(distinct),
        "hits_per_minute": 60.0 * float(hit.sum()) / max(seconds, 1e-9),
        "five_or_more": float((counts >= 5).mean()),
    }


def model_workflow(model, workflow: str, n: int, seed: int) -> tuple[list[str], float]:
    """Formulas of ``generate workflow=... n=N target=1`` with the defaults, and its wall time (s)."""
    start = time.perf_counter()
    designs = model.generate(workflow, n=n, target=1, seed=seed)
    return list(designs.table["formula"]), time.perf_counter() - start


def forest_screen(model, n: int, seed: int, budget: float) -> tuple[list[str], float]:
    """A random forest on the model's training labels over the default screen's lattice, chunks in a seeded random
    order until ``budget`` seconds of screening are spent (the fit is not counted, as the VAE's training is not);
    its best alloy per element set, top ``n``."""
    from vae_design.benchmarks.peers import feature_matrix, make_estimator, tensor_features
    from vae_design.data.vocabulary import ElementVocabulary
    from vae_design.design import AlloyConstraints
    from vae_design.design.generate import palette
    from vae_design.design.screen import enumerate_chunks, expand, plan_screen
    from vae_design.design.settings import ScreenSettings
    from vae_design.features.descriptors import Descriptors

    train = model.known_alloys[model.known_alloys["part"] == "train"]
    compositions = [parse_formula(f) for f in train["formula"]]
    vocabulary = ElementVocabulary.from_compositions(compositions)
    x, ok = feature_matrix(compositions, vocabulary)
    forest = make_estimator("random-forest", seed).fit(x[ok], train["label"].to_numpy(dtype=int)[ok])
    constraints = AlloyConstraints.from_settings(model.vocabulary)
    plan = plan_screen(constraints, palette(model, constraints, None), ScreenSettings.spread, ScreenSettings.limit)
    elements = model.vocabulary.elements
    descriptors = Descriptors(elements).double()  # one module for every chunk
    single = list(forest.classes_).index(1)
    start = time.perf_counter()
    best: dict[tuple, tuple[float, str]] = {}
    chunks = list(enumerate_chunks(plan, 20_000))
    for index in np.random.default_rng(seed).permutation(len(chunks)):
        if time.perf_counter() - start > budget:
            break
        fractions = constraints.to_fractions(expand(plan, chunks[index].long(), len(elements))).double()
        inputs, usable = tensor_features(fractions, descriptors, vocabulary)
        scores = np.zeros(len(fractions))
        if usable.any():
            scores[usable] = forest.predict_proba(inputs[usable])[:, single]
        present = (fractions > 0).numpy()
        for row in np.flatnonzero(usable):
            key = tuple(np.flatnonzero(present[row]))
            if scores[row] > best.get(key, (-1.0, None))[0]:
                best[key] = (scores[row], canonical_formula(dict(zip(elements, fractions[row].tolist(), strict=True))))
    ranked = sorted(best.values(), key=lambda pair: -pair[0])[:n]
    return [formula for _, formula in ranked], time.perf_counter() - start


def pareto_screen(model, n: int) -> tuple[list[str], float]:
    """hea-bench's Pareto screen over the default palette (module doc); formulas and wall time (s)."""
    from hea_bench.design import search
    from hea_bench.design.constraints import (
        CompositionConstraint,
        DomainConstraint,
        Maximize,
        Minimize,
        RuleConstraint,
    )

    from vae_design.design import AlloyConstraints
    from vae_design.design.generate import palette

    constraints = AlloyConstraints.from_settings(model.vocabulary)
    elements = palette(model, constraints, None)
    rules = (RuleConstraint("zhang_delta", "single-phase"), RuleConstraint("yang_omega", "single-phase"))
    bounds = tuple(CompositionConstraint(e, 0.0, 0.3) for e in elements)
    start = time.perf_counter()
    result = search(
        elements,
        n_elements=(constraints.min_elements, constraints.max_elements),
        constraints=(*rules, *bounds, DomainConstraint(in_domain=None)),
        objectives=(Maximize("hardness"), Minimize("cost_per_kg")),
        n_candidates=n,
        step=0.1,
        max_evaluations=2_000_000,
    )
    formulas = [canonical_formula(dict(candidate.composition)) for candidate in result.candidates]
    return formulas, time.perf_counter() - start
