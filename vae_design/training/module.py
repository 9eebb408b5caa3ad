"""Lightning around the Pyro ELBO: the ELBO is a torch module (Pyro's module-local parameters), so Lightning owns
the optimizer, the checkpoints and the devices. The plan only computes the loss and logs what it measures."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch

from vae_design.models.ssvae import PhaseVAE, elbo_module
from vae_design.training.metrics import classification_metrics


class TrainingPlan(L.LightningModule):
    """Minimise the negative ELBO per alloy; validate with the head's posterior-predictive probabilities."""

    def __init__(
        self,
        vae: PhaseVAE,
        n_labelled: int,
        n_unlabelled: int,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
    ) -> None:
        super().__init__()
        self.vae = vae
        self.elbo = elbo_module(vae)
        self.n_labelled, self.n_unlabelled = n_labelled, n_unlabelled
        self.learning_rate, self.weight_decay = learning_rate, weight_decay
        self._val_outputs: list[tuple[torch.Tensor, torch.Tensor]] = []

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        labelled = batch.get("labelled")
        unlabelled = batch.get("unlabelled")
        x_l, y_l = labelled if labelled is not None else (None, None)
        x_u = unlabelled[0] if unlabelled is not None else None
        # The ELBO estimates the whole data set's log-evidence; per alloy it is comparable across data sizes.
        loss = self.elbo(x_l, y_l, x_u, self.n_labelled, self.n_unlabelled) / (self.n_labelled + self.n_unlabelled)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"the training loss became {loss.item()} at epoch {self.current_epoch}, step {self.global_step}; "
                "lower optim.learning_rate or check the data for extreme compositions"
            )
        batch_size = sum(len(part[0]) for part in (labelled, unlabelled) if part is not None)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        x, y = batch
        probabilities, _ = self.vae.class_probabilities(x, n_samples=32)
        self._val_outputs.append((y, probabilities))

    def on_validation_epoch_end(self) -> None:
        if not self._val_outputs:
            return
        y = torch.cat([y for y, _ in self._val_outputs])
        probabilities = torch.cat([p for _, p in self._val_outputs])
        self._val_outputs.clear()
        if self.trainer.world_size > 1:
            # Under DDP each process validates a shard; AUC is not an average of shard AUCs, so gather every
            # prediction and let each process compute the same figures (early stopping then agrees everywhere).
            y = self.all_gather(y).reshape(-1)
            probabilities = self.all_gather(probabilities).reshape(-1, probabilities.shape[-1])
        scores = classification_metrics(y.cpu().numpy(), probabilities.cpu().numpy(), "val")
        scores = {k: (v if np.isfinite(v) else 0.0) for k, v in scores.items()}
        self.log_dict({k: scores[k] for k in ("val/auc", "val/log_loss", "val/accuracy")}, prog_bar=True)

    def configure_optimizers(self):
        # Weight decay shrinks network weights only: decaying the head's posterior mean toward 0 would fight the
        # expert prior, which the ELBO already applies.
        embedding = self.vae.head.embedding
        decayed = {id(p) for p in embedding.parameters()} if embedding is not None else set()
        parameters = list(self.elbo.parameters())
        groups = [
            {"params": [p for p in parameters if id(p) in decayed], "weight_decay": self.weight_decay},
            {"params": [p for p in parameters if id(p) not in decayed], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW([g for g in groups if g["params"]], lr=self.learning_rate)
