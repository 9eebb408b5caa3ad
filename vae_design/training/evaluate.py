"""Every figure of ``metrics.json`` for a trained model, recomputed from the model and held-out alloys only."""

from __future__ import annotations

import numpy as np
import torch

from vae_design.models.neighbours import NeighbourEvidence
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
    """``val/*`` and ``test/*`` classification metrics; ``recon/*`` on test alloys, encoded and decoded with the
    predicted class (as a user without the label would) and, ``*_true_y``, with their measured class;
    ``latent/*``: fresh probes reading the label from z of val + test alloys (:func:`label_leakage`; z encoded
    with the predicted class, as ``encode`` does) and how well the decoder alone tells the classes apart
    (``latent/y_generative_auc``); ``counterfactual/*`` (:func:`counterfactuals`). Class probabilities include
    the measured-neighbour update when ``neighbours`` is given and active; ``*/auc_head``, ``*/log_loss_head``,
    ``*/ece_head``, ``*/accuracy_head`` are the head alone, and ``*/neighbours_outweigh`` the share of alloys where
    the neighbours' weight exceeds the head's."""
    metrics: dict[str, float] = {}
    latents, predicted, head = {}, {}, {}
    for prefix, x, y in (("val", x_val, y_val), ("test", x_test, y_test)):
        if len(x):
            probabilities, _ = vae.class_probabilities(x)
            head[prefix] = probabilities
            # the head's own verdict (before the neighbour update) chooses y for encoding, as vae.encode would
            predicted[prefix] = probabilities.argmax(-1)
            latents[prefix] = vae.encode(x, predicted[prefix])
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
        decoded = vae.decode(latents[held_out], predicted[held_out])
        metrics.update(reconstruction_metrics(x_held.numpy(), decoded.numpy()))
        true_y = torch.as_tensor(np.asarray(y_held, dtype=int))
        decoded = vae.decode(vae.encode(x_held, true_y), true_y)
        figures = reconstruction_metrics(x_held.numpy(), decoded.numpy())
        metrics |= {f"{k}_true_y": figures[k] for k in ("recon/element_set_exact", "recon/mae_present")}
        metrics.update(counterfactuals(vae, x_held, true_y, head[held_out]))
    if latents:
        z = torch.cat(list(latents.values()))  # val, then test: the order of y_all
        y_all = np.concatenate([np.asarray(y_val, dtype=int), np.asarray(y_test, dtype=int)])
        metrics.update(label_leakage(z.numpy(), y_all, seed=seed))
        x_all = torch.cat([x for x in (x_val, x_test) if len(x)])
        metrics["latent/y_generative_auc"] = generative_auc(vae, x_all, y_all)
    return metrics


@torch.no_grad()
def counterfactuals(vae: PhaseVAE, x: torch.Tensor, y: torch.Tensor, probabilities: torch.Tensor) -> dict[str, float]:
    """Does the decoder follow y? Each alloy's z (posterior mean, encoded with its measured class y) decoded with
    y and with the other class y'. ``counterfactual/distance``: median distance between the two decodes (at.%,
    half the L1 distance: the share of atoms that change element); ``element_set_changed``: how often the element
    set differs; ``head_own`` / ``head_other``: how often the head assigns each decode the class it was decoded
    with (alloys the head cannot describe left out); ``log_likelihood_gain``: mean log p(x | y, z_y) -
    log p(x | y', z_y') (nats, each z the encoder's for that class): what knowing y is worth to the decoder.
    y' is the class the head (``probabilities``, (N, K), already computed by the caller) ranks first among those
    the alloy is not; for two classes, the other one."""
    other = probabilities.scatter(-1, y[:, None], -1.0).argmax(-1)
    z = vae.encode(x, y)
    own, flipped = vae.decode(z, y), vae.decode(z, other)
    distance = 50 * (own - flipped).abs().sum(-1)
    changed = ((own > 1e-6) != (flipped > 1e-6)).any(-1)
    figures = {
        "counterfactual/distance": float(distance.median()),
        "counterfactual/element_set_changed": float(changed.float().mean()),
        "counterfactual/log_likelihood_gain": float(
            (vae.reconstruction_log_likelihood(x, y) - vae.reconstruction_log_likelihood(x, other)).mean()
        ),
    }
    for name, decoded, wanted in (("head_own", own, y), ("head_other", flipped, other)):
        usable = ~vae.head.descriptors.unsupported(decoded)
        verdict = vae.class_probabilities(decoded[usable])[0].argmax(-1) if usable.any() else wanted[:0]
        agrees = (verdict == wanted[usable]).float()
        figures[f"counterfactual/{name}"] = float(agrees.mean()) if len(agrees) else float("nan")
    return figures


@torch.no_grad()
def generative_auc(vae: PhaseVAE, x: torch.Tensor, y_true: np.ndarray) -> float:
    """AUC of the decoder as a classifier: softmax over classes k of log p(x | k, z_k), z_k the posterior mean of
    q(z | x, k). High: y carries what the decoder needs to tell the classes apart (the signal M2's unlabelled term
    gives the head)."""
    n_classes = vae.config.n_classes
    scores = torch.stack(
        [vae.reconstruction_log_likelihood(x, torch.full((len(x),), k, dtype=torch.long)) for k in range(n_classes)],
        dim=-1,
    )
    y_true = np.asarray(y_true, dtype=int)
    if len(np.unique(y_true)) < 2:
        return float("nan")
    probabilities = scores.softmax(-1).double().numpy()
    if n_classes > 2:
        present = np.unique(y_true)
        if len(present) < 3:
            return float("nan")
        probabilities = probabilities[:, present] / probabilities[:, present].sum(1, keepdims=True)
        y_true = np.searchsorted(present, y_true)
    return score_auc(y_true, probabilities)


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
