"""Lightning around the Pyro ELBO: the ELBO is a torch module (Pyro's module-local parameters), so Lightning owns
the optimizer, the checkpoints and the devices. The plan only computes the loss and logs what it measures."""

from __future__ import annotations

import time

import lightning as L
import numpy as np
import pyro
import torch

from vae_design.models.ssvae import PhaseVAE, elbo_module
from vae_design.models.terms import elbo_terms
from vae_design.training.metrics import classification_metrics

TERMS_EVERY = 5  # training batches between two evaluations of the separate loss terms
# Distribution checks during training steps (see training_step); tests/training/test_speed_paths.py turns them on.
VALIDATE_DISTRIBUTIONS = False


class TrainingPlan(L.LightningModule):
    """Minimise the negative ELBO per alloy; validate with the head's posterior-predictive probabilities."""

    def __init__(
        self,
        vae: PhaseVAE,
        n_labelled: int,
        n_unlabelled: int,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        weak: tuple[float, float] = (0.0, 1.0),
        lr_schedule: str = "constant",
    ) -> None:
        super().__init__()
        self.vae = vae
        self.elbo = elbo_module(vae)
        self.n_labelled, self.n_unlabelled = n_labelled, n_unlabelled
        self.learning_rate, self.weight_decay, self.lr_schedule = learning_rate, weight_decay, lr_schedule
        self.weak = weak  # (scale per weakly labelled alloy, q of the robust loss); see Model
        self._val_outputs: list[tuple[torch.Tensor, torch.Tensor]] = []
        # Training wall time (s) of the epochs before a resume, read from the checkpoint; see on_save_checkpoint.
        self.seconds_before = 0.0
        self._fit_started = time.perf_counter()

    def setup(self, stage: str) -> None:
        if "mixed" in str(self.trainer.precision):
            # Under autocast the layers compute in bf16/fp16, but Pyro's enumerated ELBO multiplies probabilities and
            # costs with tensordot, which refuses mixed dtypes: every linear layer hands float32 to what follows
            # (the next layer casts back to half precision itself), so distributions and the ELBO stay float32.
            for layer in self.vae.modules():
                if isinstance(layer, torch.nn.Linear):
                    layer.register_forward_hook(_to_float32)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        labelled = batch.get("labelled")
        unlabelled = batch.get("unlabelled")
        x_l, y_l = labelled if labelled is not None else (None, None)
        x_u = unlabelled[0] if unlabelled is not None else None
        y_weak = unlabelled[1] if unlabelled is not None and len(unlabelled) > 1 else None
        # The ELBO estimates the whole data set's log-evidence; per alloy it is comparable across data sizes.
        # Pyro's and torch's checks (each distribution's arguments and support, the model-guide match) cost about a
        # fifth of a step and change no number; the inputs are checked when they are read, the model and guide are
        # checked with them on in tests/training/test_speed_paths.py, and non-finite weights are caught below.
        with pyro.validation_enabled(VALIDATE_DISTRIBUTIONS):
            elbo_loss = self.elbo(x_l, y_l, x_u, self.n_labelled, self.n_unlabelled, y_weak, self.weak)
        n_alloys = self.n_labelled + self.n_unlabelled
        loss = elbo_loss / n_alloys
        weight = self.vae.config.independence_weight
        independence = self.vae.independence_penalty(x_l, y_l, x_u) if weight > 0 else None
        if independence is not None:
            loss = loss + weight * independence
        # the pool's designed route into the head under semi=consistency|entropy (models/semi.py)
        pool_penalty = self.vae.pool_penalty(x_u)
        if pool_penalty is not None:
            loss = loss + self.vae.semi.weight * pool_penalty
        if not torch.isfinite(loss):
            if not all(torch.isfinite(parameter).all() for parameter in self.elbo.parameters()):
                raise FloatingPointError(f"the model's parameters became non-finite at epoch {self.current_epoch}")
            raise FloatingPointError(f"the training loss became {loss.item()} at epoch {self.current_epoch}")
        batch_size = sum(len(part[0]) for part in (labelled, unlabelled) if part is not None)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        if batch_idx % TERMS_EVERY == 0:
            # Each term on its own (per alloy, epoch means over every TERMS_EVERY-th batch), so a user sees which
            # one moves; the extra model and guide pass costs about a fifth of a step.
            with pyro.validation_enabled(VALIDATE_DISTRIBUTIONS):
                terms = elbo_terms(self.vae, x_l, y_l, x_u, self.n_labelled, self.n_unlabelled, y_weak, self.weak)
            terms = {f"train/{name}": value / n_alloys for name, value in terms.items()}
            if independence is not None:
                terms["train/independence"] = weight * float(independence.detach())
            if pool_penalty is not None:
                terms[f"train/{self.vae.semi.method}"] = self.vae.semi.weight * float(pool_penalty.detach())
            self.log_dict(terms, on_step=False, on_epoch=True, batch_size=batch_size)
        return loss

    def on_before_optimizer_step(self, optimizer) -> None:
        # A finite loss can still have a non-finite gradient; clipping would not remove it and the step would put
        # NaN into every weight. Under float16 mixed precision an inf gradient is normal (the scaler skips that
        # step), so the check is left to the scaler there.
        if str(self.trainer.precision).startswith("16"):
            return
        gradients = [parameter.grad for parameter in self.elbo.parameters() if parameter.grad is not None]
        # one reduction (one device sync on a GPU), not one per parameter tensor
        if gradients and not torch.stack([torch.isfinite(gradient).all() for gradient in gradients]).all():
            raise FloatingPointError(f"a gradient became non-finite at epoch {self.current_epoch}")

    def on_fit_start(self) -> None:
        self._fit_started = time.perf_counter()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # The random state the next epoch starts from (the guide's reparameterised noise): with it a resumed run
        # draws what the uninterrupted run drew, so both end with the same weights.
        checkpoint["rng_states"] = _rng_states()
        # Training time up to this checkpoint, so a resumed run reports the time of all its epochs (the work lost
        # after the last checkpoint is not counted).
        checkpoint["train_seconds"] = self.seconds_before + time.perf_counter() - self._fit_started

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "rng_states" in checkpoint:
            _set_rng_states(checkpoint["rng_states"])
        self.seconds_before = float(checkpoint.get("train_seconds", 0.0))

    def validation_step(self, batch, batch_idx: int) -> None:
        x, y = batch
        probabilities, _ = self.vae.class_probabilities(x, n_samples=32)
        self._val_outputs.append((y, probabilities))
        # The generative networks' own validation figure: -log p(x | y, z) + kl_weight * KL(q(z | x, y) || p(z))
        # per alloy, with the true y and z at the posterior mean (nats); the encoder and decoder kept are those of
        # its best epoch, whatever the head's figures did then.
        loss = self.vae.generative_loss(x, y).mean()
        self.log("val/generative_loss", loss, batch_size=len(x), sync_dist=self.trainer.world_size > 1)

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
        if not torch.isfinite(probabilities).all():
            # Early stopping would otherwise read a broken model's figures as a score.
            raise FloatingPointError(f"the validation probabilities became non-finite at epoch {self.current_epoch}")
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
        optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=self.learning_rate)
        if self.lr_schedule == "constant":
            return optimizer
        # stepped once per epoch; a resumed run restores its position from the checkpoint
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(self.trainer.max_epochs, 1))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "epoch"}}


def _to_float32(layer, inputs, output):
    return output.float() if torch.is_floating_point(output) else output


def _rng_states() -> dict:
    import random

    # Plain tensors, numbers and tuples only, so that checkpoints load with torch.load(weights_only=True).
    name, keys, position, has_gauss, gauss = np.random.get_state()
    numpy_state = (name, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(gauss))
    states = {"torch": torch.get_rng_state(), "numpy": numpy_state, "python": random.getstate()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict) -> None:
    import random

    torch.set_rng_state(states["torch"])
    name, keys, position, has_gauss, gauss = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])
