"""The negative ELBO split into its named terms, for the training logs (``TERMS``: which term each site of
:class:`~vae_design.models.ssvae.Model` belongs to)."""

from __future__ import annotations

import torch
from pyro import poutine

# Which ELBO term each site of the model belongs to (losses: positive is a cost).
TERMS = {
    "y_labelled": "label",
    "target_classifier": "target_classifier",
    "x_labelled": "reconstruction",
    "x_unlabelled": "reconstruction",
    "target_labelled": "kl_target",
    "target_unlabelled": "kl_target",
    "nuisance_labelled": "kl_nuisance",
    "nuisance_unlabelled": "kl_nuisance",
    "coefficients": "kl_head",
    "intercepts": "kl_head",
    "process": "kl_head",
    "y_unlabelled": "label_unlabelled",
    "y_weak": "weak",
}


@torch.no_grad()
def elbo_terms(vae, *args) -> dict[str, float]:
    """The negative ELBO split into its terms, for the logs: one draw from the guide (y of unlabelled alloys sampled,
    not summed out), each model site's -log p, less the guide's log q at the same site, with the ELBO's scales
    (kl_weight, label_weight, the data set's size). The terms add up to a one-sample estimate of the loss that
    TraceEnum_ELBO computes exactly; kl_nuisance is KL(q(z_n | x) || p(z_n)) times kl_weight, kl_target
    KL(q(z_y | x) || p(z_y | y)) times target_weight, label_unlabelled is
    E[log q(y | x) - log p(y | x)] (zero when head and label prior agree, as in eval mode)."""
    guide_trace = poutine.trace(vae.guide).get_trace(*args)
    model_trace = poutine.trace(poutine.replay(vae.model, trace=guide_trace)).get_trace(*args)
    model_trace.compute_log_prob()
    guide_trace.compute_log_prob()
    terms: dict[str, float] = {}
    for name, site in model_trace.nodes.items():
        if site["type"] != "sample" or name not in TERMS:
            continue
        cost = -site["log_prob_sum"]
        if name in guide_trace.nodes and not guide_trace.nodes[name]["is_observed"]:
            cost = cost + guide_trace.nodes[name]["log_prob_sum"]
        terms[TERMS[name]] = terms.get(TERMS[name], 0.0) + float(cost)
    return terms
