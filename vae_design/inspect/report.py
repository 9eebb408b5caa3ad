"""``report.md``, ``inspect.json`` and the PNG figures of one inspection, and the one-alloy explanation text."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vae_design.features.descriptors import DESCRIPTOR_UNITS
from vae_design.inspect import figures
from vae_design.inspect.attributions import COMPOSITION

MEANINGS = {
    "k": "bulk modulus",
    "vm": "molar volume",
    "tm": "melting temperature",
    "vec": "valence electron concentration",
    "delta": "atomic size mismatch",
    "dchi": "electronegativity mismatch",
    "dS_mix": "ideal mixing entropy",
    # the descriptor sums Takeuchi & Inoue's tabulated binary enthalpies, not matminer's full Miedema model
    "dH_mix": "mixing enthalpy (Takeuchi-Inoue binary pair table, regular-solution model)",
    "omega": "entropy-to-enthalpy ratio Omega = Tm dS_mix / abs(dH_mix)",
    COMPOSITION: "composition beyond the descriptors (the head's network, or the GP's composition term)",
}
FIGURES = {
    "shap_beeswarm.png": figures.shap_beeswarm,
    "posterior.png": figures.posterior_vs_prior,
    "fisher.png": figures.fisher_spectra,
    "formula.png": figures.formula_path,
    "latent_maps.png": figures.latent_maps,
    "traversals.png": figures.traversals,
}


# what the head adds to the linear model: h (model.head_function=network) or g (gp)
FLEXIBLE = ("a small network on the composition", "a Gaussian process over the same descriptors")


def _num(value, digits: int = 3) -> str:
    return "n/a" if value is None or (isinstance(value, float) and not np.isfinite(value)) else f"{value:.{digits}f}"


def example_rows(inspection) -> tuple[list[int], list[str]]:
    """The most confident single-phase, the most confident multi-phase and the least certain explained alloy."""
    outputs = inspection.attributions.outputs
    rows = [int(np.argmax(outputs)), int(np.argmin(outputs)), int(np.argmin(np.abs(outputs)))]
    titles = ["most surely single phase", "most surely multi-phase", "least certain"]
    unique = dict.fromkeys(rows)
    keep = [rows.index(r) for r in unique]
    return [rows[i] for i in keep], [f"{titles[i]}: {inspection.explained[rows[i]]}" for i in keep]


def write_report(inspection, folder: Path, model_path: str) -> list[str]:
    """Write report.md, inspect.json and the figures into ``folder``; returns the file names."""
    plt = figures._pyplot()
    written = []
    for name, draw in FIGURES.items():
        figure = draw(inspection)
        figure.savefig(folder / name, dpi=110, bbox_inches="tight")
        plt.close(figure)
        written.append(name)
    rows, titles = example_rows(inspection)
    figure = figures.shap_alloys(inspection, rows, titles)
    figure.savefig(folder / "shap_alloys.png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    written.append("shap_alloys.png")
    (folder / "inspect.json").write_text(json.dumps(inspection.summary, indent=2) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(render(inspection, model_path, rows, titles), encoding="utf-8")
    shap_table(inspection).to_csv(folder / "shap_values.csv", index=False, float_format="%.6g")
    return ["report.md", "inspect.json", "shap_values.csv", *sorted(written)]


def shap_table(inspection):
    """One row per explained alloy: formula, P(single phase), log-odds, base value and each player's SHAP value."""
    import pandas as pd

    a = inspection.attributions
    table = pd.DataFrame(a.values, columns=[f"shap_{p}" for p in a.players])
    table.insert(0, "base_value", a.base_values)
    table.insert(0, "log_odds", a.outputs)
    table.insert(0, "probability", 1 / (1 + np.exp(-a.outputs)))
    table.insert(0, "formula", inspection.explained)
    return table


def render(inspection, model_path: str, rows: list[int], titles: list[str]) -> str:
    s = inspection.summary
    n = s["model"]["alloys"]
    lines = [
        "# What the model has learned about single-phase formation",
        "",
        f"Model: `{model_path}` (target `{s['model']['target']}`). Every number below was recomputed from this model "
        f"and the alloys it was trained on ({n['train']} labelled, {n['unlabelled']} unlabelled), validated on "
        f"({n['val']}) and tested on ({n['test']}{'' if n['test'] else ': no test alloys were available'}).",
        "",
        "The model's classifier (its *head*) scores each alloy with the log-odds of a single solid-solution phase, "
        "log(P / (1 - P)): 0 is even odds, +2 is about 88 %, -2 about 12 %. It adds a weighted sum of nine physics "
        f"descriptors to {_flexible(s['model'].get('gp_relevance') or {})}. The descriptors and their units:",
        "",
        "| descriptor | meaning | unit |",
        "|---|---|---|",
        *(f"| `{d}` | {MEANINGS.get(d, d)} | {DESCRIPTOR_UNITS.get(d, '')} |" for d in s["model"]["descriptors"]),
        "",
        *_shap_section(inspection, rows, titles),
        *_posterior_section(inspection),
        *_fisher_section(inspection),
        *_formula_section(inspection),
        *_latent_section(inspection),
    ]
    return "\n".join(lines) + "\n"


def _shap_section(inspection, rows, titles) -> list[str]:
    s = inspection.summary
    ranked = sorted(s["shap"], key=lambda d: -s["shap"][d])
    lines = [
        "## 1. Which descriptors drive the prediction (SHAP)",
        "",
        f"Exact Shapley values of the log-odds for {len(inspection.explained)} validation alloys against a "
        f"background of training alloys (base value {_num(s['shap_base_value'], 2)}: the average log-odds of the "
        "background). For each alloy the values add up to its log-odds minus the base value. *Direction* is the "
        "correlation between a descriptor's value and its SHAP value: + means a higher value favours a single "
        "phase, - the opposite.",
        "",
        "| descriptor | mean abs. SHAP (log-odds) | direction |",
        "|---|---|---|",
        *(f"| `{d}` | {_num(s['shap'][d])} | {_num(s['shap_direction'][d], 2)} |" for d in ranked),
    ]
    if s.get("shap_composition") is not None:
        lines.append(f"| composition (beyond the descriptors) | {_num(s['shap_composition'])} | |")
    a = inspection.attributions
    lines += [
        "",
        "![beeswarm](shap_beeswarm.png)",
        "",
        "*shap_beeswarm.png*: one dot per alloy and descriptor; right of zero pushes towards a single phase; red dots "
        "are alloys with a high value of that descriptor, blue a low one.",
        "",
        "Three alloys explained (SHAP values in log-odds; *shap_alloys.png* draws them):",
        "",
        "| alloy | P(single phase) | largest contributions |",
        "|---|---|---|",
    ]
    for row, title in zip(rows, titles, strict=True):
        order = np.argsort(-np.abs(a.values[row]))[:3]
        parts = ", ".join(f"`{a.players[j]}` {a.values[row, j]:+.2f}" for j in order)
        lines.append(f"| {title} | {1 / (1 + np.exp(-a.outputs[row])):.2f} | {parts} |")
    return [*lines, "", "![alloys](shap_alloys.png)", ""]


def _posterior_section(inspection) -> list[str]:
    s = inspection.summary
    level = int(round(100 * s["posterior_level"]))
    lines = [
        "## 2. The head's coefficients: what the data say beside the expert prior",
        "",
        f"Each coefficient is the change in log-odds of a single phase per standard deviation of its descriptor "
        f"(omega enters as ln(1 + omega)). Posterior: mean and {level} % credible interval; prior: the expert's mean "
        "and scale (configs/prior). *Contradicts* marks a coefficient whose posterior interval and the prior's own "
        "90 % interval do not overlap: the data disagree with the expert there.",
        "",
        f"| coefficient | posterior mean | {level} % interval | prior mean +- scale | data vs prior |",
        "|---|---|---|---|---|",
    ]
    flips, against = set(s["posterior_sign_flips"]), set(s["posterior_contradicts"])
    for name, v in s["posterior"].items():
        verdict = "contradicts" if name in against else "agrees"
        verdict += ", sign flipped" if name in flips else ""
        lines.append(
            f"| `{name}` | {v['mean']:+.2f} | [{v['lo']:+.2f}, {v['hi']:+.2f}] | {v['prior_mean']:+.2f} +- "
            f"{v['prior_scale']:.2f} | {verdict} |"
        )
    if against:
        lines += ["", f"The data contradict the expert prior for {', '.join(f'`{n}`' for n in sorted(against))}."]
    else:
        lines += ["", "No coefficient contradicts its expert prior."]
    lines += _negative_entropy_note(s["posterior"], level)
    relevance = s.get("model", {}).get("gp_relevance")
    if relevance:
        lines += ["", "The Gaussian process g beside the linear model: each input's share of g's variance (its "
                  "relevance) and its length-scale, in standard deviations of the descriptor (for `composition`, "
                  "the alloy's composition, in L1 distance over mole fractions: 0.2 is 10 at.% moved).", "",
                  "| input | share of g | length-scale |", "|---|---|---|"]  # fmt: skip
        lines += [f"| `{d}` | {v['share']:.2f} | {v['lengthscale']:.2f} |" for d, v in relevance.items()]
    return [*lines, "", "![posterior](posterior.png)", "", "*posterior.png*: grey, the prior; blue, the posterior; "
            "red, a posterior that contradicts its prior.", ""]  # fmt: skip


def _flexible(relevance: dict) -> str:
    """What the head adds to the linear model, in words (relevance: the gp head's inputs, empty for h)."""
    return FLEXIBLE[bool(relevance)] + (" and the composition" if "composition" in relevance else "")


def _negative_entropy_note(posterior: dict, level: int) -> list[str]:
    """The sentence a reader asks for when the mixing-entropy coefficient comes out negative (empty otherwise)."""
    negative = {k: v for k, v in posterior.items() if k.split("[")[0] == "dS_mix" and v["mean"] < 0}
    if not negative:
        return []
    values = "; ".join(f"`{k}` {v['mean']:+.2f} [{v['lo']:+.2f}, {v['hi']:+.2f}]" for k, v in negative.items())
    settled = all(v["hi"] < 0 for v in negative.values())
    sign = "is negative" if settled else "leans negative (its interval includes 0, so the sign is not settled)"
    return [
        "",
        f"The mixing-entropy coefficient {sign} ({values}, {level} % interval), although a higher "
        "configurational entropy is expected to favour a single solid solution (Yeh et al., Adv. Eng. Mater. 6, "
        "299 (2004)): the coefficient is conditional on the other descriptors, so this most likely reflects their "
        "collinearity with `dS_mix` (Omega = Tm dS_mix / |dH_mix| carries the entropy too, and alloys with more "
        "elements also bring more size and enthalpy mismatch) or the make-up of the dataset, not the physics of "
        "entropy.",
    ]


def _interval(posterior: dict, name: str) -> str:
    v = posterior.get(name)
    return "" if v is None else f" (coefficient {v['mean']:+.2f} [{v['lo']:+.2f}, {v['hi']:+.2f}])"


def _fisher_section(inspection) -> list[str]:
    fim = inspection.summary["fim"]
    pruning = fim["pruning"]

    def loadings(direction) -> str:
        return " ".join(f"{value:+.2f} `{name}`" for name, value in direction)

    shares = fim["input"]["shares"]
    lines = [
        "## 3. Fisher information: what the decision really uses",
        "",
        "The Fisher information measures how sharply the training data pin down each combination of the head's "
        "coefficients (stiff directions: large eigenvalues; sloppy directions: small ones, combinations the data "
        "cannot tell apart), and how strongly the prediction reacts to each descriptor. The input information is a "
        "local sensitivity (how fast the prediction changes when a descriptor moves by a little around each alloy, "
        "composition held fixed); SHAP above is a contribution relative to typical alloys. The two can rank "
        "descriptors differently: a descriptor can matter locally through the composition network yet vary little "
        "across alloys.",
        "",
        f"- Coefficients: condition number {_num(fim['condition_number'], 1)} (largest over smallest eigenvalue); "
        f"effective number of parameters {_num(fim['effective_dimension'], 2)} of {len(fim['parameters'])} "
        "(directions the data determine better than the prior does).",
        f"- Stiffest coefficient direction: {loadings(fim['stiff'])}; sloppiest: {loadings(fim['sloppy'])}.",
        f"- Inputs: the decision moves most along {loadings(fim['input']['stiff'])}. Share of the input information: "
        + ", ".join(f"`{d}` {100 * v:.1f} %" for d, v in sorted(shares.items(), key=lambda kv: -kv[1]))
        + ".",
        f"- Latent z: its information about the phase is {_num(fim['latent']['trace_ratio_to_input'], 4)} times "
        "that of the descriptors (near 0: moving in z, with the class fixed, hardly changes the predicted phase).",
        "",
    ]
    posterior = inspection.summary["posterior"]
    if pruning.get("proposed"):
        lines += ["Descriptors proposed for pruning (their credible intervals include 0):", ""]
        lines += [f"- `{n}`: {reason}{_interval(posterior, n)}" for n, reason in pruning["proposed"].items()]
    else:
        lines += ["No descriptor is proposed for pruning: each carries a share of the information or has a "
                  "coefficient whose credible interval excludes 0."]  # fmt: skip
    if pruning.get("kept_nonzero"):
        lines += ["", "Flagged by the Fisher information alone but kept, because the credible interval of the "
                  "coefficient excludes 0 (the data say the effect is non-zero):", ""]  # fmt: skip
        lines += [f"- `{n}`: {reason}{_interval(posterior, n)}" for n, reason in pruning["kept_nonzero"].items()]
    if "val_auc_head" in pruning:
        lines += [
            "",
            "| validation AUC | all descriptors | proposed ones removed |",
            "|---|---|---|",
            f"| the head (removed ones held at their training mean) | {_num(pruning['val_auc_head'])} | "
            f"{_num(pruning['val_auc_head_pruned'])} |",
        ]
        if "val_auc_linear" in pruning:
            lines.append(
                f"| a logistic model on the descriptors, refitted | {_num(pruning['val_auc_linear'])} | "
                f"{_num(pruning['val_auc_linear_pruned'])} |"
            )
    return [*lines, "", "![fisher](fisher.png)", "", "*fisher.png*: left, the eigenvalues of the coefficients' "
            "Fisher information; right, each descriptor's share of the information about the inputs.", ""]  # fmt: skip


def _formula_section(inspection) -> list[str]:
    s = inspection.summary
    f = s["formula"]
    frequency = sorted(f["selection_frequency"].items(), key=lambda kv: -kv[1])
    lines = [
        "## 4. An explicit formula",
        "",
        "The head distilled into a sparse logistic formula over the descriptors (in their units; ln(1 + Omega) for "
        "Omega), their products and ratios: an L1 path and backward elimination, each candidate refitted, the "
        "sparsest within 0.01 validation AUC of the best kept. P(single phase) = 1 / (1 + exp(-L)) with",
        "",
        f"$$L = {f['latex']}$$",
        "",
        f"(`{f['expression']}`; {f['n_terms']} term{'s' if f['n_terms'] != 1 else ''}). Bootstrap selection "
        "frequency of each term: " + ", ".join(f"`{t}` {100 * v:.0f} %" for t, v in frequency) + ".",
        "",
        "| classifier | accuracy (val) | AUC (val) | accuracy (test) | AUC (test) |",
        "|---|---|---|---|---|",
    ]
    for name, v in s["comparison"].items():
        lines.append(
            f"| {name} | {_num(v.get('accuracy_val'))} | {_num(v.get('auc_val'))} | {_num(v.get('accuracy_test'))} | "
            f"{_num(v.get('auc_test'))} |"
        )
    lines += [
        "",
        "The formula was chosen on the validation alloys, so its validation figures flatter it a little; the test "
        "alloys played no part in any choice. Rules: Zhang's delta < 6.5 %, Yang & Zhang's Omega > 1.1, Guo's VEC "
        "bands, and both of the first two (no score, so no AUC), computed with hea-bench's own descriptors. The head "
        "here is at its posterior mean, without the measured-neighbour update of `predict`.",
        "",
        "Every formula searched (refitted on its terms, before rounding), by number of terms:",
        "",
        "| terms | formula terms | accuracy (val) | AUC (val) | accuracy (test) | AUC (test) |",
        "|---|---|---|---|---|---|",
        *(
            f"| {p['n_terms']} | {' + '.join(p['terms'])} | {_num(p['accuracy_val'])} | {_num(p['auc_val'])} | "
            f"{_num(p.get('accuracy_test'))} | {_num(p.get('auc_test'))} |"
            for p in f["path"]
        ),
        "",
        "![formula](formula.png)",
        "",
        "*formula.png*: validation (and test) AUC against the number of terms (star: the chosen formula), beside "
        "the head and the empirical rules on validation.",
        "",
    ]
    return lines


def _disentanglement_verdict(probe_auc) -> str:
    if probe_auc is None:
        return "Too few labelled alloys to probe z_n for the phase."
    if probe_auc < 0.6:
        return "z_n carries little phase information: the phase lives in z_y, as intended (disentangled)."
    if probe_auc < 0.75:
        return "z_n carries some phase information: the model is partly disentangled."
    return (
        "z_n still carries much of the phase information (through the chemistry that correlates with it): the "
        "model is only partly disentangled, and drawing z_y for a class does not fully control the phase."
    )


def _latent_section(inspection) -> list[str]:
    scores = inspection.summary["latent"]
    shown = figures.informative_traversals(inspection.traversals)
    axes = ", ".join(figures.axis_name(t.axis, inspection.target_dim) for t in shown)
    if len(shown) < len(inspection.traversals):
        axes = f"the {len(shown)} of {len(inspection.traversals)} traversed that change the decoded alloy most: {axes}"
    return [
        "## 5. The latent space",
        "",
        "The latent has two factors: the target factor z_y holds the phase, the nuisance factor z_n the rest of the "
        "chemistry and (meant to be) not the phase. The scores below read z_n.",
        "",
        f"- Phase read from z_n by a linear probe: AUC {_num(scores['label_probe_auc'])} (0.5: z_n carries no phase "
        f"information); largest mutual information between one z_n axis and the phase "
        f"{_num(scores['label_mutual_information_max'])} nats.",
        f"- {_disentanglement_verdict(scores['label_probe_auc'])}",
        f"- Element family read from z_n: accuracy {_num(scores['family_probe_accuracy'])} (always guessing the "
        f"largest family: {_num(scores['family_majority_accuracy'])}); number of elements: R^2 "
        f"{_num(scores['n_elements_probe_r2'])}.",
        "",
        "![latent maps](latent_maps.png)",
        "",
        f"*latent_maps.png*: z of {int(scores['n_alloys'])} labelled alloys (the target factor against the nuisance "
        "factor's first principal axis), coloured "
        "by measured phase, number of elements, and the family holding most of the alloy (refractory: Ti V Zr Nb Mo "
        "Hf Ta W Re; 3d transition: Cr Mn Fe Co Ni Cu; noble: Ru Rh Pd Ag Os Ir Pt Au; other: the rest).",
        "",
        "![traversals](traversals.png)",
        "",
        f"*traversals.png*: compositions decoded along the z axes ({axes}; ranked by the change in composition or "
        "P(single phase) they cause), from -2.5 to +2.5 "
        "with the other axes at 0, for each phase class; above each panel, the head's P(single phase) of the decoded "
        "alloys (in a disentangled model it changes with y, not along z).",
        "",
    ]
