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
from vae_design.inspect.settings import InspectSettings
from vae_design.models.networks import element_count

Part = tuple[list, np.ndarray]  # (compositions, integer labels)


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
        as given (the bundle's own test part or a user's file: :mod:`vae_design.inspect.held_out`)."""
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
    latent_z: np.ndarray  # the whole latent: target factor (target_dim columns), then nuisance factor
    latent_colours: dict[str, np.ndarray]
    traversals: list
    elements: tuple[str, ...]
    classes: tuple[str, ...]
    target_dim: int = 0

    def headline(self) -> str:
        """Two lines for the terminal: the formula, and the validation AUC of head and formula beside the head's
        effective number of parameters."""
        formula, head = self.summary["formula"], self.summary["comparison"]["head"]
        return (
            f"formula ({formula['n_terms']} terms): logit P(single phase) = {formula['expression']}\n"
            f"validation AUC: head {head.get('auc_val', float('nan')):.3f}, formula {formula['auc_val']:.3f}; "
            f"effective parameters {self.summary['fim']['effective_dimension']:.2f}"
        )


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


@dataclass
class _Inputs:
    """What every section of an inspection reads: the model, its head, the alloys as tensors, the settings and one
    random generator (drawn from in section order, so a seed gives one inspection)."""

    model: object
    data: InspectionData
    settings: InspectSettings
    view: HeadView
    rng: np.random.Generator
    x_train: torch.Tensor
    x_val: torch.Tensor
    y_val: np.ndarray  # 1 = not the reference class
    parts: dict[str, Part]  # "val" and (with test alloys) "test": compositions and labels as y_val

    @property
    def binary(self) -> bool:
        return len(self.model.classes) == 2


def inspect_model(model, data: InspectionData, settings: InspectSettings | None = None) -> Inspection:
    """Attributions, posterior vs prior, Fisher information, formula and latent space of ``model`` (an AlloyVAE),
    section by section; ``settings`` default to :class:`InspectSettings`'s."""
    from vae_design.data.composition import canonical_formula

    inputs = _inputs(model, data, settings or InspectSettings())
    summary: dict = {"model": _model_summary(inputs)}
    shap_values, explained = _shap_section(inputs, summary)
    posterior = _posterior_section(inputs, summary)
    parameter_spectrum, input_spectrum = _fisher_section(inputs, posterior, summary)
    formula = _formula_section(inputs, summary)
    z_shown, colours, traversals = _latent_section(inputs, summary)
    return Inspection(
        summary=_finite(summary),
        attributions=shap_values,
        explained=[canonical_formula(inputs.data.val[0][i]) for i in explained],
        posterior=posterior,
        parameter_spectrum=parameter_spectrum,
        input_spectrum=input_spectrum,
        formula=formula,
        latent_z=z_shown,
        latent_colours=colours,
        traversals=traversals,
        elements=tuple(model.vocabulary.elements),
        classes=tuple(model.classes),
        target_dim=model.vae.config.target_dim,
    )


def _inputs(model, data: InspectionData, settings: InspectSettings) -> _Inputs:
    from vae_design.api import as_compositions

    data = InspectionData(
        (as_compositions(data.train[0]), np.asarray(data.train[1], dtype=int)),
        as_compositions(data.pool),
        (as_compositions(data.val[0]), np.asarray(data.val[1], dtype=int)),
        None if data.test is None else (as_compositions(data.test[0]), np.asarray(data.test[1], dtype=int)),
    )
    view = HeadView(model.vae)
    ref = view.reference_class
    y_val = (data.val[1] != ref).astype(int)
    parts = {"val": (data.val[0], y_val)}
    if data.test is not None and len(data.test[0]):
        parts["test"] = (data.test[0], (data.test[1] != ref).astype(int))
    tensor = model.vocabulary.to_tensor
    rng = np.random.default_rng(settings.seed)
    return _Inputs(model, data, settings, view, rng, tensor(data.train[0]), tensor(data.val[0]), y_val, parts)


def _model_summary(inputs: _Inputs) -> dict:
    model, data, parts = inputs.model, inputs.data, inputs.parts
    process = model.vae.head.process
    relevance = {}
    if process is not None:  # the gp head (models/gp.py): each input's share of g's variance and length-scale
        shares, scales = process.relevance().tolist(), process.log_lengthscale.detach().exp().tolist()
        names = list(inputs.view.descriptors)
        if process.n_elements:  # the composition term: its length-scale is in L1 over mole fractions
            names, scales = [*names, "composition"], [*scales, process.log_composition_scale.detach().exp().item()]
        rows = zip(names, shares, scales, strict=True)
        relevance = {d: {"share": a, "lengthscale": b} for d, a, b in rows}
    return {
        "gp_relevance": relevance,
        "target": model.target,
        "classes": list(model.classes),
        "descriptors": list(inputs.view.descriptors),
        "alloys": {
            "train": len(data.train[0]),
            "unlabelled": len(data.pool),
            "val": len(data.val[0]),
            "test": len(parts["test"][0]) if "test" in parts else 0,
        },  # fmt: skip
    }


def _shap_section(inputs: _Inputs, summary: dict) -> tuple[attributions.Attributions, list[int]]:
    """1. SHAP: validation alloys against a background of training alloys. Returns the attributions and the
    positions of the explained validation alloys."""
    view, settings, x_train = inputs.view, inputs.settings, inputs.x_train
    background = inputs.rng.choice(len(x_train), size=min(settings.shap_background, len(x_train)), replace=False)
    explained = _evenly(inputs.data.val[0], settings.shap_alloys)
    shap_values = attributions.explain_head(view, inputs.x_val[explained], x_train[np.sort(background)])
    mean_abs, direction = shap_values.mean_abs(), shap_values.direction()
    summary["shap"] = {d: mean_abs[d] for d in view.descriptors}
    summary["shap_direction"] = {d: direction[d] for d in view.descriptors}
    summary["shap_composition"] = mean_abs.get(attributions.COMPOSITION)
    summary["shap_base_value"] = float(shap_values.base_values.mean())
    return shap_values, explained


def _posterior_section(inputs: _Inputs, summary: dict) -> pd.DataFrame:
    """2. posterior vs prior: the head's coefficients, with where they contradict their prior or flip its sign."""
    level = inputs.settings.level
    posterior = inputs.model.head_posterior(level=level)
    # the prior's own 90 % interval, compared with the posterior's
    posterior["contradicts"] = (posterior["hi"] < posterior["prior_mean"] - Z90 * posterior["prior_scale"]) | (
        posterior["lo"] > posterior["prior_mean"] + Z90 * posterior["prior_scale"]
    )
    posterior["sign_flip"] = (posterior["prior_mean"] != 0) & (
        (np.sign(posterior["lo"]) == np.sign(posterior["hi"]))
        & (np.sign(posterior["mean"]) == -np.sign(posterior["prior_mean"]))
    )
    key = posterior["descriptor"] if inputs.binary else posterior["descriptor"] + "[" + posterior["class"] + "]"
    columns = ["mean", "lo", "hi", "prior_mean", "prior_scale"]
    records = posterior[columns].to_dict(orient="records")
    summary["posterior"] = {k: {c: float(r[c]) for c in columns} for k, r in zip(key, records, strict=True)}
    summary["posterior_level"] = level
    summary["posterior_contradicts"] = [k for k, c in zip(key, posterior["contradicts"], strict=True) if c]
    summary["posterior_sign_flips"] = [k for k, c in zip(key, posterior["sign_flip"], strict=True) if c]
    return posterior


def _fisher_section(inputs: _Inputs, posterior: pd.DataFrame, summary: dict) -> tuple[fisher.Spectrum, fisher.Spectrum]:
    """3. Fisher information: coefficients (summed over training alloys), inputs and latents (mean per alloy), and
    the descriptors proposed for pruning. Returns the coefficients' and the inputs' spectra."""
    model, view, settings, x_train, x_val = inputs.model, inputs.view, inputs.settings, inputs.x_train, inputs.x_val
    names, prior_scales = fisher.coefficient_names(view)
    parameter_fim = fisher.head_parameter_fisher(view, x_train)
    parameter_spectrum = fisher.Spectrum.of(parameter_fim.detach(), names)
    input_spectrum = fisher.Spectrum.of(fisher.head_input_fisher(view, x_train).detach(), view.descriptors)
    z_val = model.vae.encode(x_val)
    latent_spectrum = fisher.Spectrum.of(
        fisher.latent_fisher(view, z_val, element_count(x_val)), [f"z{i + 1}" for i in range(z_val.shape[1])]
    )
    # a coefficient whose credible interval excludes 0 has an effect the data vouch for: never proposed for pruning
    nonzero = set(posterior.loc[(posterior["lo"] > 0) | (posterior["hi"] < 0), "descriptor"])
    thresholds = (settings.prune_share, settings.sloppy_ratio)
    proposal = fisher.propose_pruning(parameter_spectrum, input_spectrum, *thresholds, nonzero=nonzero)
    flagged = fisher.propose_pruning(parameter_spectrum, input_spectrum, *thresholds)
    y_train = (inputs.data.train[1] != view.reference_class).astype(int)
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
        "pruning": _pruning(view, proposal, x_train, y_train, x_val, inputs.y_val),
    }
    summary["fim"]["pruning"]["kept_nonzero"] = {n: flagged[n] for n in flagged if n in nonzero}
    return parameter_spectrum, input_spectrum


def _formula_section(inputs: _Inputs, summary: dict) -> Formula:
    """4. formula distilled from the head, against the head and the empirical rules."""
    model, view, settings, data = inputs.model, inputs.view, inputs.settings, inputs.data
    tensor = model.vocabulary.to_tensor
    fit_pool = [*data.train[0], *data.pool]
    chosen = inputs.rng.choice(len(fit_pool), size=min(settings.formula_fit_alloys, len(fit_pool)), replace=False)
    x_fit = tensor([fit_pool[i] for i in np.sort(chosen)])
    evaluation = {p: (raw_descriptors(view, tensor(c)), y) for p, (c, y) in inputs.parts.items()}
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
    summary["comparison"] = _comparison(inputs, formula, {p: e[0] for p, e in evaluation.items()})
    return formula


def _comparison(inputs: _Inputs, formula: Formula, descriptors: dict[str, pd.DataFrame]) -> dict:
    """AUC and accuracy of the head, the formula and each empirical rule on the validation (and test) alloys."""
    from vae_design.benchmarks.rules import RULE_NAMES, score_rule

    comparison = {}
    for p, (compositions, y) in inputs.parts.items():
        head_log_odds = inputs.view.log_odds(inputs.model.vocabulary.to_tensor(compositions)).detach().numpy()
        comparison.setdefault("head", {}).update({f"{m}_{p}": v for m, v in _scores(y, head_log_odds).items()})
        comparison.setdefault("formula", {}).update(
            {f"{m}_{p}": v for m, v in _scores(y, formula.log_odds(descriptors[p])).items()}
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
    return comparison


def _latent_section(inputs: _Inputs, summary: dict) -> tuple[np.ndarray, dict[str, np.ndarray], list]:
    """5. latent space: the labelled alloys' latents, disentanglement scores and traversals of the most used axes.
    Returns the latents shown, their colourings and the traversals."""
    model, settings, data = inputs.model, inputs.settings, inputs.data
    labelled = [*data.train[0], *data.val[0]]
    labels = np.concatenate([data.train[1], data.val[1]])
    if "test" in inputs.parts:
        labelled, labels = [*labelled, *data.test[0]], np.concatenate([labels, data.test[1]])
    shown = _evenly(labelled, settings.latent_alloys)
    x_shown = model.vocabulary.to_tensor([labelled[i] for i in shown])
    z_shown = model.vae.encode(x_shown).numpy()
    fractions = x_shown.numpy()
    families = latent.element_family(fractions, model.vocabulary.elements)
    n_elements = latent.count_elements(fractions)
    # what the nuisance factor holds (the label should not be there; the target factor is meant to hold it)
    z_nuisance = z_shown[:, model.vae.config.target_dim :]
    summary["latent"] = latent.disentanglement_scores(z_nuisance, labels[shown], families, n_elements, settings.seed)
    axes = latent.active_axes(z_shown, settings.traversal_axes or z_shown.shape[1])
    summary["latent"]["axes_by_spread"] = [int(a) + 1 for a in axes]
    traversals = latent.traverse(inputs.view, axes, model.classes)
    colours = {"label": labels[shown], "number of elements": n_elements, "element family": families}
    return z_shown, colours, traversals


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
