"""The Pyro model: likelihoods, exact enumeration of y, the expert prior, the gradient gate, the bundle."""

from __future__ import annotations

import pyro
import pytest
import torch
from pyro import poutine

from vae_design.errors import InputError
from vae_design.models.distributions import FractionMultinomial, SparseComposition
from vae_design.models.priors import HeadPrior
from vae_design.models.ssvae import PhaseVAE, VAEConfig, elbo_module

ELEMENTS = ("Al", "Co", "Cr", "Fe", "Ni", "Ti", "Mo")


def _fractions(n: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, len(ELEMENTS), generator=generator) * (torch.rand(n, len(ELEMENTS), generator=generator) > 0.4)
    x[:, 1] += 0.05  # every alloy has Co, so no row is empty
    return x / x.sum(1, keepdim=True)


def _vae(**overrides) -> PhaseVAE:
    config = VAEConfig(elements=ELEMENTS, z_dim=2, hidden=16, embedding_hidden=8, **overrides)
    vae = PhaseVAE(config)
    x = _fractions(64)
    vae.head.scaler.fit(vae.head.descriptors(x.double()).float())
    return vae


def test_sparse_composition_decodes_exact_zeros_and_scores_the_element_set():
    presence = torch.tensor([[4.0, 4.0, -4.0, -4.0]])
    dist = SparseComposition(presence, torch.zeros(1, 4))
    decoded = dist.decode()
    assert torch.equal(decoded, torch.tensor([[0.5, 0.5, 0.0, 0.0]]))
    right_set = dist.log_prob(torch.tensor([[0.5, 0.5, 0.0, 0.0]]))
    wrong_set = dist.log_prob(torch.tensor([[0.5, 0.0, 0.5, 0.0]]))
    assert right_set > wrong_set + 7.9  # two confident presence mistakes cost 2 x 4 nats
    # enumeration broadcasting: a leading class dim of 2 over 3 alloys
    broadcast = SparseComposition(torch.zeros(2, 1, 4), torch.zeros(3, 4))
    assert broadcast.log_prob(torch.full((3, 4), 0.25)).shape == (2, 3)


def test_reference_decoder_is_dense():
    decoded = FractionMultinomial(torch.tensor([[3.0, 3.0, -3.0, -3.0]])).decode()
    assert (decoded > 0).all() and torch.allclose(decoded.sum(-1), torch.tensor([1.0]))


def test_staged_decoder_reads_the_element_set_from_the_target_factor_alone():
    """model.decoder=staged: z_n moves the fractions, never the set; z_y moves the set."""
    vae = _vae(decoder="staged", target_dim=2)
    torch.nn.init.normal_(vae.model.decoder.presence.out.weight)  # a decoder whose set depends on z_y at all
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(32, vae.config.latent_dim, generator=generator)
    other_nuisance = torch.cat([z[:, :2], torch.randn(32, 2, generator=generator)], -1)
    other_target = torch.cat([torch.randn(32, 2, generator=generator), z[:, 2:]], -1)
    counts = torch.full((32,), 3)
    decoded = {
        name: vae.model.decode_latent(latent, counts)
        for name, latent in (("z", z), ("nuisance", other_nuisance), ("target", other_target))
    }
    assert torch.equal(decoded["z"].presence_logits, decoded["nuisance"].presence_logits)
    assert not torch.allclose(decoded["z"].fraction_logits, decoded["nuisance"].fraction_logits)
    assert not torch.equal(decoded["z"].decode() > 0, decoded["target"].decode() > 0)
    assert len(elbo_module(vae)(None, None, _fractions(8), 0, 8).shape) == 0  # it trains like the others


def test_unlabelled_class_is_enumerated_not_sampled():
    vae = _vae()
    x = _fractions(5)
    enumerated = poutine.enum(vae.guide, first_available_dim=-2)
    trace = poutine.trace(enumerated).get_trace(None, None, x, 0, 5)
    y = trace.nodes["y_unlabelled"]["value"]
    assert trace.nodes["y_unlabelled"]["infer"]["enumerate"] == "parallel"
    assert y.reshape(-1).tolist() == [0, 1]  # every class, once, in an enumeration dim


def test_loss_is_exact_in_y_given_z_noise():
    """Same z noise, different Pyro/global RNG state for y: with y summed out the loss cannot change."""
    vae = _vae(kl_weight=1.0)
    elbo = elbo_module(vae)
    x = _fractions(8)
    losses = []
    for _ in range(2):
        torch.manual_seed(3)
        losses.append(elbo(None, None, x, 0, 8).item())
    assert losses[0] == losses[1]


def _pool_gradients(method: str, weight: float = 1.0, pool: bool = True) -> tuple[float, torch.Tensor]:
    """(|gradient| into h, gradient into q(w)'s mean) of one training loss on a pool-only batch, dropout on."""
    vae = _vae(semi={"method": method, "weight": weight, "noise": 0.05}).train()
    torch.nn.init.normal_(vae.head.embedding.net[-1].weight)  # a non-trivial head, so it can have a gradient
    torch.manual_seed(0)
    x_u = _fractions(16, seed=1) if pool else None
    loss = elbo_module(vae)(None, None, x_u, 0, 16)
    penalty = vae.pool_penalty(x_u)
    if penalty is not None:
        loss = loss + weight * penalty
    loss.backward()
    h = sum(float(p.grad.abs().sum()) for p in vae.head.embedding.parameters() if p.grad is not None)
    return h, vae.guide.coefficient_loc.grad.clone()


def test_without_a_semi_method_the_pool_has_no_route_into_the_head():
    """Fails if an undocumented route reappears (it did: dropout made q(y | x) != p(y | x), and their KL trained
    the head). Only the expert prior's KL moves q(w), exactly as with no pool at all."""
    h, w = _pool_gradients("none", 0.0)
    assert h == 0.0
    _, w_without_pool = _pool_gradients("none", 0.0, pool=False)
    assert torch.allclose(w, w_without_pool)


@pytest.mark.parametrize("method", ["m2", "consistency", "entropy"])
def test_each_semi_method_reaches_the_head_by_its_route(method):
    h, w = _pool_gradients(method)
    assert h > 0  # fails if the chosen route stops reaching the head
    _, w_without_pool = _pool_gradients("none", 0.0, pool=False)
    assert not torch.allclose(w, w_without_pool)
    vae = _vae(semi={"method": method, "weight": 1.0, "noise": 0.05})
    assert (vae.pool_penalty(_fractions(4)) is None) == (method == "m2")


def test_m2_label_prior_is_the_class_prior_not_the_head():
    vae = _vae(semi={"method": "m2", "weight": 1.0}, prior={"class_prior": [0.7, 0.3]})
    assert torch.allclose(vae.head.class_log_prior.exp(), torch.tensor([0.7, 0.3]))
    trace = poutine.trace(vae.model).get_trace(None, None, _fractions(5), 0, 5)
    assert torch.allclose(trace.nodes["y_unlabelled"]["fn"].probs, torch.tensor([0.7, 0.3]).expand(5, 2))


def test_consistency_views_keep_the_alloy():
    from vae_design.models.semi import perturbed

    x = _fractions(32)
    view = perturbed(x, 0.05)
    assert torch.equal(view > 0, x > 0) and torch.allclose(view.sum(-1), torch.ones(32))
    assert 0 < float((view - x).abs().sum(-1).median()) * 50 < 3  # about 1 at.% moved


def test_semi_settings_are_checked():
    from vae_design.models.semi import SemiSupervision

    for bad in ({"method": "mean-teacher"}, {"method": "m2", "weight": 2.0}, {"method": "entropy", "weight": -1}):
        with pytest.raises(InputError, match="semi"):
            SemiSupervision(**bad)


def test_head_starts_at_the_expert_prior_and_reports_it():
    vae = _vae(prior={"coefficients": {"delta": {"mean": -1.0, "scale": 0.5}}, "class_prior": [0.6, 0.4]})
    loc, _ = vae.coefficient_posterior()
    delta = vae.config.descriptors.index("delta")
    assert loc[0, delta] == pytest.approx(-1.0)
    assert vae.head.coefficient_scale[0, delta] == pytest.approx(0.5)
    intercept, _ = vae.intercept_posterior()
    assert intercept[0] == pytest.approx(torch.log(torch.tensor(0.4 / 0.6)).item(), abs=1e-6)


def test_four_class_target_puts_multi_phase_at_zero_logit():
    vae = _vae(classes=("BCC", "FCC", "HCP", "multi-phase"), reference_class=3)
    x = _fractions(4)
    logits = vae.head.logits(
        x, vae.head.features(x), *[t[0] for t in (vae.coefficient_posterior(),)], vae.intercept_posterior()[0]
    )
    assert logits.shape == (4, 4) and torch.all(logits[:, 3] == 0)
    elbo = elbo_module(vae)
    assert torch.isfinite(elbo(x, torch.tensor([0, 1, 2, 3]), _fractions(6, 1), 4, 6))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"coefficients": {"dleta": {"mean": 1}}}, "not a descriptor"),
        ({"coefficients": {"delta": {"mean": 1, "scale": 0}}}, "scale > 0"),
        ({"class_prior": [0.5, 0.6]}, "sum to 1"),
        ({"colour": 1}, "unknown setting prior.colour"),
    ],
)
def test_bad_priors_are_one_line_errors(values, message):
    with pytest.raises(InputError, match=message):
        HeadPrior.from_dict(values, ("delta", "omega"))


def test_class_prior_must_match_the_target():
    prior = HeadPrior.from_dict({"class_prior": [0.55, 0.45]}, ("delta",))
    with pytest.raises(InputError, match="4 classes"):
        prior.intercept_means(4, 3)


def test_the_literature_prior_serves_both_targets_with_per_class_physics():
    from vae_design.data.table import PHASES
    from vae_design.resources import prior_config

    descriptors = ("vec", "delta", "omega", "dH_mix")
    literature = prior_config("literature")
    two = HeadPrior.from_dict(literature, descriptors, ("multi-phase", "single phase"))
    four = HeadPrior.from_dict(literature, descriptors, PHASES)
    assert two.class_prior == (0.55, 0.45) and len(four.class_prior) == 4
    means, _ = four.coefficient_tensors(descriptors, PHASES, reference=PHASES.index("multi-phase"))
    bcc, fcc = means[0], means[1]  # rows: BCC, FCC, HCP (multi-phase is the reference)
    assert fcc[0] > 0 > bcc[0]  # Guo 2011: high VEC -> FCC, low VEC -> BCC
    assert torch.equal(bcc[1:], fcc[1:]) and bcc[1] < 0  # delta disfavours every single solid solution
    means, _ = two.coefficient_tensors(descriptors)
    assert means.shape == (1, 4) and means[0, 0] == 0  # one log-odds: no per-class VEC prior
    with pytest.raises(InputError, match="class_coefficients.FCCC: not a class"):
        HeadPrior.from_dict({"class_coefficients": {"FCCC": {}}}, descriptors, PHASES)


def test_state_dict_round_trip_reproduces_probabilities():
    pyro.set_rng_seed(0)
    vae = _vae()
    torch.nn.init.normal_(vae.head.embedding.net[-1].weight)
    copy = PhaseVAE(vae.config)
    copy.load_state_dict(vae.state_dict())
    x = _fractions(10, 2)
    assert torch.equal(vae.eval().class_probabilities(x)[0], copy.eval().class_probabilities(x)[0])


def test_composition_network_cannot_carry_a_linear_descriptor_effect():
    """h is residualised on [1, f]: a net that tries to output -3 * f_0 contributes nothing linear in training,
    and at evaluation its running projection removes the same fit, so w alone holds linear descriptor effects."""
    from vae_design.models.networks import CompositionEmbedding

    torch.manual_seed(0)
    embedding = CompositionEmbedding(0, 3, 1, hidden=8, dropout=0.0, momentum=1.0)
    features = torch.randn(200, 3)
    embedding.net = torch.nn.Linear(3, 1)  # a perfectly linear h: all of it must be projected away
    with torch.no_grad():
        embedding.net.weight.copy_(torch.tensor([[-3.0, 0.0, 0.0]]))
        embedding.net.bias.fill_(0.5)
    h = embedding(torch.empty(200, 0), features)
    assert h.abs().max() < 0.05  # only the ridge's shrinkage remains
    design = torch.cat([torch.ones(200, 1), features], dim=1)
    assert torch.allclose(embedding.projection[:, 0], torch.tensor([0.5, -3.0, 0.0, 0.0]), atol=0.02)
    embedding.eval()
    assert embedding(torch.empty(5, 0), features[:5]).abs().max() < 0.05
    # a nonlinear part survives, uncorrelated with the descriptor: h is not simply zeroed
    square = CompositionEmbedding(0, 1, 1, hidden=8, dropout=0.0, momentum=1.0)
    square.net = _Square()
    nonlinear = square(torch.empty(200, 0), features[:, :1])
    assert nonlinear.std() > 0.5
    assert abs(float(torch.corrcoef(torch.stack([nonlinear[:, 0], design[:, 1]]))[0, 1])) < 0.05


class _Square(torch.nn.Module):
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs**2
