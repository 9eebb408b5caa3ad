"""Fisher information of the classification head (torch.func), its spectrum, and descriptor pruning.

For a categorical output with logits g(theta) the Fisher information about theta is

    F(theta) = sum_n J_n^T (diag p_n - p_n p_n^T) J_n,      J_n = d g_n / d theta,  p_n = softmax(g_n),

which for a logistic model g_n = [0, b + w f_n] is X^T W X with X = [1, f] and W = diag(p_n (1 - p_n)).

* With respect to the head's coefficients (b, w): large eigenvalues are *stiff* directions (combinations of
  coefficients the data pin down), small ones *sloppy* (combinations the data cannot tell apart, e.g. two
  descriptors that carry the same information). The effective number of parameters is MacKay's
  sum_i mu_i / (1 + mu_i), mu_i the eigenvalues of S F S with S the expert prior's scales: a direction counts
  when the data's information about it exceeds the prior's.
* With respect to the head's *inputs* (standardised descriptors, or latent directions through the decoder), averaged
  over alloys: which input directions the decision actually moves with.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import jacrev

from vae_design.inspect.head import HeadView


def categorical_fisher(jacobian: torch.Tensor, probabilities: torch.Tensor) -> torch.Tensor:
    """sum_n J_n^T (diag p_n - p_n p_n^T) J_n for a Jacobian (N, K, P) and class probabilities (N, K)."""
    covariance = torch.diag_embed(probabilities) - probabilities[:, :, None] * probabilities[:, None, :]
    return torch.einsum("nkp,nkl,nlq->pq", jacobian, covariance, jacobian)


def parameter_fisher(logits_fn: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor) -> torch.Tensor:
    """Fisher information (P, P) about a flat parameter vector theta, summed over the N rows of
    ``logits_fn(theta)`` (N, K)."""
    jacobian = jacrev(logits_fn)(theta)  # (N, K, P)
    with torch.no_grad():
        probabilities = logits_fn(theta).softmax(-1)
    return categorical_fisher(jacobian, probabilities)


def input_fisher(logits_fn: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
    """Mean per-row Fisher information (D, D) about each row's own input, for a row-wise ``logits_fn``
    (N, D) -> (N, K)."""
    # Row n's logits depend on row n only, so the Jacobian of the column sums holds every per-row Jacobian.
    jacobian = jacrev(lambda values: logits_fn(values).sum(0))(inputs).permute(1, 0, 2)  # (N, K, D)
    with torch.no_grad():
        probabilities = logits_fn(inputs).softmax(-1)
    return categorical_fisher(jacobian, probabilities) / len(inputs)


@dataclass(frozen=True)
class Spectrum:
    """Eigen-decomposition of a Fisher matrix: eigenvalues descending, eigenvectors as columns, named axes."""

    names: tuple[str, ...]
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray

    @classmethod
    def of(cls, matrix: torch.Tensor | np.ndarray, names: Sequence[str]) -> Spectrum:
        matrix = np.asarray(matrix, dtype=np.float64)
        values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
        order = np.argsort(values)[::-1]
        return cls(tuple(names), values[order], vectors[:, order])

    @property
    def condition_number(self) -> float:
        """Largest over smallest eigenvalue (inf when the smallest is zero: an unidentified direction)."""
        smallest = self.eigenvalues[-1]
        return float(self.eigenvalues[0] / smallest) if smallest > 0 else float("inf")

    def direction(self, index: int, top: int = 3) -> list[tuple[str, float]]:
        """The ``top`` largest loadings (name, signed loading) of eigenvector ``index`` (sign: largest positive)."""
        vector = self.eigenvectors[:, index]
        vector = vector * np.sign(vector[np.argmax(np.abs(vector))])
        order = np.argsort(-np.abs(vector))[:top]
        return [(self.names[i], float(vector[i])) for i in order]

    def shares(self) -> dict[str, float]:
        """Each axis' share of the trace (the diagonal over the sum of eigenvalues)."""
        diagonal = (self.eigenvectors**2) @ self.eigenvalues
        total = max(float(diagonal.sum()), 1e-300)
        return {name: float(d / total) for name, d in zip(self.names, diagonal, strict=True)}


def effective_dimension(fisher: torch.Tensor | np.ndarray, prior_scales: Sequence[float]) -> float:
    """MacKay's effective number of parameters: sum mu / (1 + mu) over eigenvalues mu of S F S (S = prior scales)."""
    scales = np.asarray(prior_scales, dtype=np.float64)
    whitened = np.asarray(fisher, dtype=np.float64) * scales[:, None] * scales[None, :]
    mu = np.clip(np.linalg.eigvalsh((whitened + whitened.T) / 2), 0, None)
    return float((mu / (1 + mu)).sum())


def propose_pruning(
    parameters: Spectrum, inputs: Spectrum, share_below: float, sloppy_ratio: float, nonzero: Collection[str] = ()
) -> dict[str, str]:
    """Descriptors to drop, each with the reason: an *unused* one carries less than ``share_below`` of the input
    Fisher information; a *redundant* one is the less used of the two largest loadings of a parameter direction
    whose eigenvalue is below ``sloppy_ratio`` times the largest (the data cannot tell those two apart).

    A descriptor in ``nonzero`` (its coefficient's credible interval excludes 0) is never proposed: the data
    say it has an effect, whatever share of the local sensitivity it has; of a redundant pair the other one is
    proposed instead, and neither when both are non-zero."""
    share = inputs.shares()
    proposal: dict[str, str] = {}
    largest = parameters.eigenvalues[0]
    for index in range(len(parameters.eigenvalues)):
        if parameters.eigenvalues[index] >= sloppy_ratio * largest:
            continue
        loadings = [(name, value) for name, value in parameters.direction(index, top=3) if name in share]
        if len(loadings) >= 2:
            (first, a), (second, b) = loadings[:2]
            dropped = first if share[first] < share[second] else second
            kept = second if dropped == first else first
            if dropped in nonzero:
                dropped, kept = kept, dropped
            if dropped in nonzero:
                continue
            proposal.setdefault(
                dropped,
                f"redundant with {kept} (a sloppy direction {a:+.2f} {first} {b:+.2f} {second}, "
                f"eigenvalue {parameters.eigenvalues[index]:.2g})",
            )
    for name, value in share.items():
        if value < share_below and name not in proposal and name not in nonzero:
            proposal[name] = f"unused ({value:.1%} of the input Fisher information)"
    return proposal


# ----------------------------------------------------------------------------------------------- the model's head
def coefficient_names(view: HeadView) -> tuple[list[str], np.ndarray]:
    """Names of the head's coefficients in the flat order used here ([intercepts, then w row by row]) and their
    expert-prior scales."""
    head = view.vae.head
    classes = [c for k, c in enumerate(view.vae.config.classes) if k != view.reference_class]
    binary = len(classes) == 1
    names = ["intercept" if binary else f"intercept[{c}]" for c in classes]
    names += [d if binary else f"{d}[{c}]" for c in classes for d in view.descriptors]
    scales = torch.cat([head.intercept_scale.reshape(-1), head.coefficient_scale.reshape(-1)])
    return names, scales.double().numpy()


def head_parameter_fisher(view: HeadView, x: torch.Tensor) -> torch.Tensor:
    """Fisher information (P, P) about the head's (b, w) at their posterior mean, summed over alloys x."""
    features = view.features(x)
    n_b = view.b.numel()

    def logits(theta: torch.Tensor) -> torch.Tensor:
        return view.logits(x, features, theta[n_b:].reshape(view.w.shape), theta[:n_b].reshape(view.b.shape))

    return parameter_fisher(logits, torch.cat([view.b.reshape(-1), view.w.reshape(-1)]))


def head_input_fisher(view: HeadView, x: torch.Tensor) -> torch.Tensor:
    """Mean Fisher information (D, D) about the standardised descriptors, composition held fixed."""
    return input_fisher(lambda features: view.logits(x, features), view.features(x))


def usable_rows(view: HeadView, x: torch.Tensor) -> torch.Tensor:
    """Boolean mask of the compositions whose descriptors can be computed (a decoded alloy may pair elements
    without tabulated data, e.g. Th-U)."""
    return ~view.vae.head.descriptors.unsupported(x.detach().double())


def latent_fisher(view: HeadView, z: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Mean Fisher information (Z, Z) of the head's prediction about the latent z (target factor first) through the
    decoder, element counts fixed: how much moving along each axis changes the predicted phase (large along the
    target factor, small along the nuisance factor in a disentangled model). The decoded element
    set is a hard choice without a gradient; the fractions on it carry the information. Decoded alloys whose
    descriptors cannot be computed are left out."""
    with torch.no_grad():
        keep = usable_rows(view, view.vae.decode(z, counts))
    z, counts = z[keep], counts[keep]
    if len(z) == 0:
        return torch.zeros(z.shape[1], z.shape[1])
    # The descriptors' x ln x is a custom autograd.Function that torch.func cannot transform: plain autograd here,
    # one backward pass per class (row n's logits depend on z_n only, so column sums give per-row gradients).
    latents = z.detach().clone().requires_grad_(True)
    x = view.vae.decoded(latents, counts).decode()
    logits = view.logits(x, view.vae.head.features(x))
    rows = [torch.autograd.grad(logits[:, k].sum(), latents, retain_graph=True)[0] for k in range(logits.shape[1])]
    return categorical_fisher(torch.stack(rows, 1), logits.detach().softmax(-1)) / len(z)
