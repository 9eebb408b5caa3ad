"""Every figure of ``metrics.json`` for a trained model, recomputed from the model and held-out alloys only."""

from __future__ import annotations

import numpy as np
import torch

from vae_design.models.neighbours import NeighbourEvidence
from vae_design.models.ssvae import PhaseVAE
from vae_design.training.metrics import classification_metrics, probe_auc, reconstruction_metrics


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
    """``val/*`` and ``test/*`` classification metrics, ``recon/*`` on test alloys (encoded and decoded with the
    predicted class, as a user without the label would), and ``latent/probe_auc`` (linear probe from z to the true
    label over val + test alloys, 5-fold; near 0.5 means z carries no label information). Class probabilities
    include the measured-neighbour update when ``neighbours`` is given."""
    metrics: dict[str, float] = {}
    latents, predicted = {}, {}
    for prefix, x, y in (("val", x_val, y_val), ("test", x_test, y_test)):
        if len(x):
            probabilities, _ = vae.class_probabilities(x)
            # the head's own verdict (before the neighbour update) chooses y for encoding, as vae.encode would
            predicted[prefix] = probabilities.argmax(-1)
            latents[prefix] = vae.encode(x, predicted[prefix])
            if neighbours is not None:
                probabilities = neighbours.update(x, probabilities)
            metrics.update(classification_metrics(y, probabilities.numpy(), prefix))
    held_out, x_held = ("test", x_test) if len(x_test) else ("val", x_val)
    if held_out in latents:
        decoded = vae.decode(latents[held_out], predicted[held_out])
        metrics.update(reconstruction_metrics(x_held.numpy(), decoded.numpy()))
    if latents:
        z = torch.cat(list(latents.values()))  # val, then test: the order of y_all
        y_all = np.concatenate([np.asarray(y_val, dtype=int), np.asarray(y_test, dtype=int)])
        metrics["latent/probe_auc"] = probe_auc(z.numpy(), y_all, seed=seed)
    return metrics
