"""One inspection of a trained model: every number of ``report.md`` and ``inspect.json``, computed from the model
bundle and the alloys it was trained, validated and tested on (nothing cached, nothing typed in)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from vae_design.features.descriptors import DESCRIPTOR_NAMES
from vae_design.inspect import attributions, fisher, latent
from vae_design.inspect.formula import Formula, distil_formula
from vae_design.inspect.head import Z90, HeadView

Part = tuple[list, np.ndarray]  # (compositions, integer labels)


@dataclass(frozen=True)
class InspectSettings:
    """What ``configs/inspect.yaml`` sets (the ``inspect`` group); every count is an upper limit."""

    level: float = 0.9  # central posterior interval of the head's coefficients
    shap_background: int = 32  # training alloys the masked players are drawn from
    shap_alloys: int = 100  # validation alloys explained (evenly spaced)
    prune_share: float = 0.02  # a descriptor with less of the input Fisher information is proposed for pruning
    sloppy_ratio: float = 1e-3  # parameter directions below this fraction of the largest eigenvalue are sloppy
    formula_max_terms: int = 6
    formula_tolerance: float = 0.01  # keep the sparsest formula within this validation AUC of the best
    formula_bootstrap: int = 20
    formula_fit_alloys: int = 3000  # training + unlabelled alloys the formula is fitted to (the head's probabilities)
    formula_ratios: bool = True
    latent_alloys: int = 3000  # alloys drawn in the latent maps
    traversal_axes: int | None = None  # None: every axis, most used first
    seed: int = 0


@dataclass
class InspectionData:
    """Labelled training alloys, the unlabelled pool, validation and (optionally) test alloys: compositions as
    formulas or element -> amount mappings, labels as integers in the model's class order."""

    train: Part
    pool: list
    val: Part
    test: Part | None = None

    @classmethod
    def from_bundle(cls, model, test: Part | None = None) -> InspectionData:
        """The training, pool and validation alloys stored in the model bundle (``known_alloys.csv``); ``test``
        as given (the bundle's test part is read by the CLI, or a user's file)."""
        from vae_design.data.composition import parse_formula

        known = model.known_alloys

        def part(name: str) -> Part:
            rows = known[known["part"] == name]
            labels = rows["label"].to_numpy(dtype=float, na_value=-1).astype(int)
            return [parse_formula(f) for f in rows["formula"]], labels

        return cls(part("train"), part("unlabelled")[0], part("val"), test)


@dataclass
class Inspection:
    """The results (``summary``, JSON-ready) and the arrays the figures are drawn from."""

    summary: dict
    attributions: attributions.Attributions
    explained: list  # formulas of the explained alloys
    posterior: pd.DataFrame
    parameter_spectrum: fisher.Spectrum
    input_spectrum: fisher.Spectrum
    formula: Formula
    latent_z: np.ndarray
    latent_colours: dict[str, np.ndarray]
    traversals: list
    elements: tuple[str, ...]
    classes: tuple[str, ...]


def _evenly(items: list, n: int) -> list[int]:
    return sorted({int(i) for i in np.linspace(0, len(items) - 1, min(n, len(items)))}) if items else []


def _scores(labels: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """AUC (NaN without a score or one class) and accuracy (score > 0 means single phase)."""
    from sklearn.metrics import roc_auc_score

    ok = np.isfinite(score)
    auc = roc_auc_score(labels[ok], score[ok]) if ok.all() and len(np.unique(labels)) > 1 else float("nan")
    accuracy = float(((score > 0) == labels.astype(bool)).mean()) if len(labels) else float("nan")
    return {"auc": float(auc), "accuracy": accuracy}


def raw_descriptors(view: HeadView, x: torch.Tensor) -> pd.DataFrame:
    """The head's descriptors in their units (as ``vae-design featurize`` writes them)."""
    with torch.no_grad():
        raw = view.vae.head.descriptors(x.double()).numpy()
    frame = pd.DataFrame(raw, columns=list(DESCRIPTOR_NAMES))
    return frame[list(view.descriptors)]


def inspect_model(model, data: InspectionData, settings: InspectSettings = InspectSettings()) -> Inspection:
    """Attributions, posterior vs prior, Fisher information, formula and latent space of ``model`` (an AlloyVAE)."""
    from vae_design.api import as_compositions
    from vae_design.benchmarks.rules import RULE_NAMES, score_rule
    from vae_design.data.composition import canonical_formula

    data = InspectionData(
        (as_compositions(data.train[0]), np.asarray(data.train[1], dtype=int)),
        as_compositions(data.pool),
        (as_compositions(data.val[0]), np.asarray(data.val[1], dtype=int)),
        None if data.test is None else (as_compositions(data.test[0]), np.asarray(data.test[1], dtype=int)),
    )
    view = HeadView(model.vae)
    tensor = model.vocabulary.to_tensor
    ref = view.reference_class
    rng = np.random.default_rng(settings.seed)
    x_train, x_val = tensor(data.train[0]), tensor(data.val[0])
    y_val = (data.val[1] != ref).astype(int)
    parts = {"val": (data.val[0], y_val)}
    if data.test is not None and len(data.test[0]):
        parts["test"] = (data.test[0], (data.test[1] != ref).astype(int))
    summary: dict = {
        "model": {
            "target": model.target,
            "classes": list(model.classes),
            "descriptors": list(view.descriptors),
            "alloys": {
                "train": len(data.train[0]),
                "unlabelled": len(data.pool),
                "val": len(data.val[0]),
                "test": len(parts["test"][0]) if "test" in parts else 0,
            },  # fmt: skip
        }
    }

    # 1. SHAP: validation alloys against a background of training alloys
    background = rng.choice(len(x_train), size=min(settings.shap_background, len(x_train)), replace=False)
    explained = _evenly(data.val[0], settings.shap_alloys)
    shap_values = attributions.explain_head(view, x_val[explained], x_train[np.sort(background)])
    mean_abs, direction = shap_values.mean_abs(), shap_values.direction()
    summary["shap"] = {d: mean_abs[d] for d in view.descriptors}
    summary["shap_direction"] = {d: direction[d] for d in view.descriptors}
    summary["shap_composition"] = mean_abs.get(attributions.COMPOSITION)
    summary["shap_base_value"] = float(shap_values.base_values.mean())

    # 2. posterior vs prior
    posterior = model.head_posterior(level=settings.level)
    # the prior's own 90 % interval, compared with the posterior's
    posterior["contradicts"] = (posterior["hi"] < posterior["prior_mean"] - Z90 * posterior["prior_scale"]) | (
        posterior["lo"] > posterior["prior_mean"] + Z90 * posterior["prior_scale"]
    )
    posterior["sign_flip"] = (posterior["prior_mean"] != 0) & (
        (np.sign(posterior["lo"]) == np.sign(posterior["hi"]))
        & (np.sign(posterior["mean"]) == -np.sign(posterior["prior_mean"]))
    )
    binary = len(model.classes) == 2
    key = posterior["descriptor"] if binary else posterior["descriptor"] + "[" + posterior["class"] + "]"
    columns = ["mean", "lo", "hi", "prior_mean", "prior_scale"]
    records = posterior[columns].to_dict(orient="records")
    summary["posterior"] = {k: {c: float(r[c]) for c in columns} for k, r in zip(key, records, strict=True)}
    summary["posterior_level"] = settings.level
    summary["posterior_contradicts"] = [k for k, c in zip(key, posterior["contradicts"], strict=True) if c]
    summary["posterior_sign_flips"] = [k for k, c in zip(key, posterior["sign_flip"], strict=True) if c]

    # 3. Fisher information: coefficients (summed over training alloys), inputs and latents (mean per alloy)
    names, prior_scales = fisher.coefficient_names(view)
    parameter_fim = fisher.head_parameter_fisher(view, x_train)
    parameter_spectrum = fisher.Spectrum.of(parameter_fim.detach(), names)
    input_spectrum = fisher.Spectrum.of(fisher.head_input_fisher(view, x_train).detach(), view.descriptors)
    z_val = model.vae.encode(x_val)
    y_pred = torch.as_tensor(view.probability(x_val).numpy() > 0.5).long() if binary else None
    if y_pred is None:
        y_pred = model.vae.class_probabilities(x_val)[0].argmax(-1)
    latent_spectrum = fisher.Spectrum.of(
        fisher.latent_fisher(view, z_val, y_pred), [f"z{i + 1}" for i in range(z_val.shape[1])]
    )
    # a coefficient whose credible interval excludes 0 has an effect the data vouch for: never proposed for pruning
    nonzero = set(posterior.loc[(posterior["lo"] > 0) | (posterior["hi"] < 0), "descriptor"])
    thresholds = (settings.prune_share, settings.sloppy_ratio)
    proposal = fisher.propose_pruning(parameter_spectrum, input_spectrum, *thresholds, nonzero=nonzero)
    flagged = fisher.propose_pruning(parameter_spectrum, input_spectrum, *thresholds)
    summary["fim"] = {
        "eigenvalues": parameter_spectrum.eigenvalues.tolist(),
        "condition_number": parameter_spectrum.condition_number,
        "effective_dimension": fisher.effective_dimension(parameter_fim.detach(), prior_scales),
        "parameters": names,
        "stiff": parameter_spectrum.direction(0),
        "sloppy": parameter_spectrum.direction(len(names) - 1),
        "input": {
            "eigenvalues": input_spectrum.eigenvalues.tolist(),
            "shares": input_spectrum.shares(),
            "stiff": input_spectrum.direction(0),
            "sloppy": input_spectrum.direction(len(view.descriptors) - 1),
            "condition_number": input_spectrum.condition_number,
        },
        "latent": {
            "eigenvalues": latent_spectrum.eigenvalues.tolist(),
            "stiff": latent_spectrum.direction(0),
            "trace_ratio_to_input": float(
                latent_spectrum.eigenvalues.sum() / max(input_spectrum.eigenvalues.sum(), 1e-300)
            ),
        },
        "pruning": _pruning(view, proposal, x_train, (data.train[1] != ref).astype(int), x_val, y_val),
    }
    summary["fim"]["pruning"]["kept_nonzero"] = {n: flagged[n] for n in flagged if n in nonzero}

    # 4. formula distilled from the head, against the head and the empirical rules
    fit_pool = [*data.train[0], *data.pool]
    chosen = rng.choice(len(fit_pool), size=min(settings.formula_fit_alloys, len(fit_pool)), replace=False)
    x_fit = tensor([fit_pool[i] for i in np.sort(chosen)])
    evaluation = {p: (raw_descriptors(view, tensor(c)), y) for p, (c, y) in parts.items()}
    formula = distil_formula(
        raw_descriptors(view, x_fit),
        view.probability(x_fit).numpy(),
        evaluation["val"],
        evaluation.get("test"),
        max_terms=settings.formula_max_terms,
        tolerance=settings.formula_tolerance,
        n_bootstrap=settings.formula_bootstrap,
        ratios=settings.formula_ratios,
        seed=settings.seed,
    )
    summary["formula"] = {
        "expression": str(formula.expression),
        "latex": formula.latex,
        "n_terms": formula.n_terms,
        "auc_val": formula.metrics.get("auc_val"),
        "auc_test": formula.metrics.get("auc_test"),
        "accuracy_val": formula.metrics.get("accuracy_val"),
        "accuracy_test": formula.metrics.get("accuracy_test"),
        "terms": formula.terms,
        "standardised_coefficients": formula.coefficients,
        "selection_frequency": formula.selection_frequency,
        "path": formula.path.to_dict(orient="records"),
    }
    comparison = {}
    for p, (compositions, y) in parts.items():
        head_log_odds = view.log_odds(tensor(compositions)).detach().numpy()
        comparison.setdefault("head", {}).update({f"{m}_{p}": v for m, v in _scores(y, head_log_odds).items()})
        comparison.setdefault("formula", {}).update(
            {f"{m}_{p}": v for m, v in _scores(y, formula.log_odds(evaluation[p][0])).items()}
        )
        for rule in RULE_NAMES:
            predicted, score, failed = score_rule(rule, compositions)
            finite = np.isfinite(score)
            if finite.any():  # an alloy hea-bench cannot describe (or with Omega = 0) ranks lowest, as predicted
                score = np.where(finite, score, score[finite].min() - 1)
            scored = _scores(y, score)
            comparison.setdefault(rule, {}).update(
                {f"auc_{p}": scored["auc"], f"accuracy_{p}": float((predicted == y).mean()), f"undescribed_{p}": failed}
            )
    summary["comparison"] = comparison

    # 5. latent space
    labelled = [*data.train[0], *data.val[0]]
    labels = np.concatenate([data.train[1], data.val[1]])
    if "test" in parts:
        labelled, labels = [*labelled, *data.test[0]], np.concatenate([labels, data.test[1]])
    shown = _evenly(labelled, settings.latent_alloys)
    x_shown = tensor([labelled[i] for i in shown])
    z_shown = model.vae.encode(x_shown).numpy()
    fractions = x_shown.numpy()
    families = latent.element_family(fractions, model.vocabulary.elements)
    n_elements = latent.count_elements(fractions)
    summary["latent"] = latent.disentanglement_scores(z_shown, labels[shown], families, n_elements, settings.seed)
    axes = latent.active_axes(z_shown, settings.traversal_axes or z_shown.shape[1])
    summary["latent"]["axes_by_spread"] = [int(a) + 1 for a in axes]
    traversals = latent.traverse(view, axes, model.classes)

    return Inspection(
        summary=_finite(summary),
        attributions=shap_values,
        explained=[canonical_formula(data.val[0][i]) for i in explained],
        posterior=posterior,
        parameter_spectrum=parameter_spectrum,
        input_spectrum=input_spectrum,
        formula=formula,
        latent_z=z_shown,
        latent_colours={"label": labels[shown], "number of elements": n_elements, "element family": families},
        traversals=traversals,
        elements=tuple(model.vocabulary.elements),
        classes=tuple(model.classes),
    )


def _pruning(view: HeadView, proposal: dict, x_train, y_train, x_val, y_val) -> dict:
    """Validation AUC of the head with the proposed descriptors held at their training mean, and of a plain
    logistic model on the descriptors refitted with and without them, beside the full versions."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    result: dict = {"proposed": proposal}
    if len(np.unique(y_val)) < 2:
        return result
    names = list(view.descriptors)
    dropped = [names.index(n) for n in proposal]
    kept = [i for i in range(len(names)) if i not in dropped]
    f_train, f_val = view.features(x_train), view.features(x_val)
    clamped = f_val.clone()
    clamped[:, dropped] = f_train[:, dropped].mean(0)
    with torch.no_grad():
        result["val_auc_head"] = float(roc_auc_score(y_val, view.log_odds(x_val, f_val).numpy()))
        result["val_auc_head_pruned"] = float(roc_auc_score(y_val, view.log_odds(x_val, clamped).numpy()))
    if len(np.unique(y_train)) > 1 and kept:
        for label, columns in (("val_auc_linear", list(range(len(names)))), ("val_auc_linear_pruned", kept)):
            fitted = LogisticRegression(max_iter=2000).fit(f_train[:, columns].numpy(), y_train)
            result[label] = float(roc_auc_score(y_val, fitted.decision_function(f_val[:, columns].numpy())))
    return result


def _finite(value):
    """NaN and infinity become None (JSON has neither); numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
