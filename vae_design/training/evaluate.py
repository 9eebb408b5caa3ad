"""Every figure of ``metrics.json`` for a trained model, recomputed from the model and held-out alloys only."""

from __future__ import annotations

import numpy as np
import torch

from vae_design.models.neighbours import NeighbourEvidence
from vae_design.models.networks import element_count
from vae_design.models.ssvae import PhaseVAE
from vae_design.training.metrics import classification_metrics, label_leakage, reconstruction_metrics, score_auc

# figures also reported for the head alone (``{prefix}/auc_head`` ...), beside those with the neighbour update
HEAD_ALONE = tuple(f"{prefix}/{name}" for prefix in ("val", "test") for name in ("auc", "log_loss", "ece", "accuracy"))


@torch.no_grad()
def evaluate_vae(
    vae: PhaseVAE,
    x_val: torch.Tensor,
    y_val: np.ndarray,
    x_test: torch.Tensor,
    y_test: np.ndarray,
    seed: int = 0,
    neighbours: NeighbourEvidence | None = None,
) -> dict[str, float]:
    """``val/*`` and ``test/*`` classification metrics; ``recon/*`` on test alloys, encoded and decoded with
    their own element count; ``latent/*``: fresh probes reading the label from each latent factor of val + test
    alloys (:func:`factor_probes`) and the target factor's own classifier q(y | z_y) (``latent/target_classifier_auc``);
    ``counterfactual/*`` (:func:`counterfactuals`). Class probabilities include the measured-neighbour update when
    ``neighbours`` is given and active; ``*/auc_head``, ``*/log_loss_head``, ``*/ece_head``, ``*/accuracy_head`` are
    the head alone, and ``*/neighbours_outweigh`` the share of alloys where the neighbours' weight exceeds the
    head's."""
    metrics: dict[str, float] = {}
    latents, head = {}, {}
    for prefix, x, y in (("val", x_val, y_val), ("test", x_test, y_test)):
        if len(x):
            probabilities, _ = vae.class_probabilities(x)
            head[prefix] = probabilities
            latents[prefix] = vae.encode(x)
            # the head alone beside the figures with the update, so the update cannot hide what the model does
            alone = classification_metrics(y, probabilities.numpy(), prefix)
            metrics |= {f"{k}_head": alone[k] for k in HEAD_ALONE if k in alone}
            active = neighbours is not None and neighbours.active
            metrics[f"{prefix}/neighbours_outweigh"] = (
                float(neighbours.outweighs_head(x).float().mean()) if active else 0.0
            )
            if active:
                probabilities = neighbours.update(x, probabilities)
            metrics.update(classification_metrics(y, probabilities.numpy(), prefix) if active else alone)
            metrics |= per_class_auc(y, probabilities.numpy(), vae.config.classes, prefix)
    held_out, x_held, y_held = ("test", x_test, y_test) if len(x_test) else ("val", x_val, y_val)
    if held_out in latents:
        decoded = vae.decode(latents[held_out], element_count(x_held))
        metrics.update(reconstruction_metrics(x_held.numpy(), decoded.numpy()))
        true_y = torch.as_tensor(np.asarray(y_held, dtype=int))
        metrics.update(counterfactuals(vae, x_held, true_y, head[held_out]))
    if latents:
        z = torch.cat(list(latents.values()))  # val, then test: the order of y_all
        y_all = np.concatenate([np.asarray(y_val, dtype=int), np.asarray(y_test, dtype=int)])
        metrics.update(factor_probes(vae, z, y_all, seed))
        probabilities = vae.model.target_probabilities(z).double().numpy()
        metrics["latent/target_classifier_auc"] = (
            score_auc(y_all, probabilities) if len(np.unique(y_all)) == vae.config.n_classes else float("nan")
        )
    return metrics


def factor_probes(vae: PhaseVAE, z: torch.Tensor, y: np.ndarray, seed: int = 0) -> dict[str, float]:
    """:func:`label_leakage` on each factor of latents z (N, latent): ``latent/probe_auc_nuisance`` (linear),
    ``latent/probe_auc_nuisance_nonlinear`` (random forest), ``latent/mutual_information_nuisance`` (a lower bound
    on I(z_n; y), nats), the same with ``_target`` for z_y, and ``latent/label_entropy``."""
    figures = {}
    for factor, part in zip(("target", "nuisance"), vae.split(z), strict=True):
        for key, value in label_leakage(part.numpy(), y, seed=seed).items():
            name, suffix = key.removeprefix("latent/"), f"_{factor}"
            if name.startswith("probe_auc"):
                key = "latent/probe_auc" + suffix + name.removeprefix("probe_auc")
            elif name == "mutual_information":
                key = "latent/mutual_information" + suffix
            figures[key] = value
    return figures


@torch.no_grad()
def counterfactuals(vae: PhaseVAE, x: torch.Tensor, y: torch.Tensor, probabilities: torch.Tensor) -> dict[str, float]:
    """Does the decoder follow the target factor? Each alloy's z (posterior mean) decoded as it is and with z_y set to
    the mean of p(z_y | y') (:meth:`PhaseVAE.with_target`), z_n and the element count kept.
    ``counterfactual/distance``: median distance between the two decodes (at.%, half the L1 distance: the share of
    atoms that change element); ``element_set_changed``: how often the element set differs; ``head_own`` /
    ``head_other``: how often the head assigns the decode of z_y set to y's mean and to y''s mean the class it was
    decoded with (alloys the head cannot describe left out); ``log_likelihood_gain``: mean log p(x | z) -
    log p(x | z with y''s z_y) (nats): what the target factor is worth to the decoder. y' is the class the head
    (``probabilities``, (N, K), already computed by the caller) ranks first among those the alloy is not."""
    other = probabilities.scatter(-1, y[:, None], -1.0).argmax(-1)
    z, counts = vae.encode(x), element_count(x)
    as_encoded, as_other = vae.decoded(z, counts), vae.decoded(vae.with_target(z, other), counts)
    own, flipped = vae.decode(vae.with_target(z, y), counts), as_other.decode()
    encoded = as_encoded.decode()
    figures = {
        "counterfactual/distance": float((50 * (encoded - flipped).abs().sum(-1)).median()),
        "counterfactual/element_set_changed": float(((encoded > 1e-6) != (flipped > 1e-6)).any(-1).float().mean()),
        "counterfactual/log_likelihood_gain": float((as_encoded.log_prob(x) - as_other.log_prob(x)).mean()),
    }
    for name, decoded, wanted in (("head_own", own, y), ("head_other", flipped, other)):
        usable = ~vae.head.descriptors.unsupported(decoded)
        verdict = vae.class_probabilities(decoded[usable])[0].argmax(-1) if usable.any() else wanted[:0]
        agrees = (verdict == wanted[usable]).float()
        figures[f"counterfactual/{name}"] = float(agrees.mean()) if len(agrees) else float("nan")
    return figures


def per_class_auc(y_true: np.ndarray, probabilities: np.ndarray, classes, prefix: str) -> dict[str, float]:
    """``{prefix}/auc_<class>``: one-vs-rest AUC of each class present with both outcomes (more than 2 classes only;
    for two classes ``{prefix}/auc`` says it all)."""
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true, dtype=int)
    if len(classes) <= 2:
        return {}
    figures = {}
    for k, name in enumerate(classes):
        members = y_true == k
        if 0 < members.sum() < len(y_true):
            figures[f"{prefix}/auc_{name}"] = float(roc_auc_score(members.astype(int), probabilities[:, k]))
    return figures
