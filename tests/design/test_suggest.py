"""Acquisition functions and batch selection of `vae-design suggest`, on synthetic posterior draws."""

import math

import numpy as np
import pytest

from vae_design.design.acquisition import (
    ACQUISITIONS,
    REASONS,
    expected_hits,
    information_gain,
    thompson,
    upper_confidence,
)
from vae_design.design.suggest import SuggestRun, SuggestSettings, distances, pick_batch, select_batch
from vae_design.errors import InputError

RNG = np.random.default_rng(0)


def two_class(p_target: np.ndarray) -> np.ndarray:
    """(S, N) draws of P(class 1) as (S, N, 2) class probabilities."""
    p = np.asarray(p_target, dtype=float)
    return np.stack([1 - p, p], axis=-1)


def test_every_acquisition_has_the_common_signature_and_a_reason():
    samples = two_class(RNG.uniform(size=(8, 5)))
    assert set(ACQUISITIONS) == set(REASONS) == {"expected_hits", "ucb", "thompson", "information_gain"}
    for name, score in ACQUISITIONS.items():
        values = score(samples, 1, np.random.default_rng(1), 1.0)
        assert values.shape == (5,) and np.isfinite(values).all(), name
        assert set(REASONS[name](samples, 1, values, 1.0)) <= {"exploit", "explore"}


def test_bald_equals_the_hand_computed_value():
    # two draws that disagree completely (0.9 / 0.1 and 0.1 / 0.9), and two that agree
    samples = np.array([[[0.1, 0.9], [0.3, 0.7]], [[0.9, 0.1], [0.3, 0.7]]])
    h = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))  # 0.3251 nats: the entropy of either draw
    expected = math.log(2) - h  # H[mean] = ln 2, minus the mean entropy
    gain = information_gain(samples, 1, RNG, 0.0)
    assert gain[0] == pytest.approx(expected, abs=1e-12) and gain[0] == pytest.approx(0.368064, abs=1e-6)
    assert gain[1] == pytest.approx(0.0, abs=1e-12)
    # the target is not used by BALD (all classes), nor are rng and kappa
    assert np.allclose(information_gain(samples, 0, np.random.default_rng(5), 3.0), gain)
    assert list(REASONS["information_gain"](samples, 1, gain, 0.0)) == ["explore", "explore"]


def test_ucb_ranks_an_uncertain_alloy_above_a_safe_one_only_with_kappa():
    safe = np.full(64, 0.6)
    uncertain = np.tile([0.2, 0.8], 32)  # mean 0.5, std 0.30
    samples = two_class(np.stack([safe, uncertain], axis=1))
    assert np.allclose(expected_hits(samples, 1, RNG, 0.0), [0.6, 0.5])
    assert np.allclose(upper_confidence(samples, 1, RNG, 0.0), [0.6, 0.5])
    ucb = upper_confidence(samples, 1, RNG, 1.0)
    assert ucb[1] == pytest.approx(0.5 + uncertain.std(ddof=1)) and ucb[1] > ucb[0]
    assert list(REASONS["ucb"](samples, 1, ucb, 1.0)) == ["exploit", "exploit"]  # 0.30 < 0.5
    assert list(REASONS["ucb"](samples, 1, ucb, 2.0)) == ["exploit", "explore"]  # 0.60 > 0.5
    assert list(REASONS["expected_hits"](samples, 1, ucb, 1.0)) == ["exploit", "exploit"]


def test_thompson_uses_one_draw_shared_by_every_alloy():
    samples = two_class(RNG.uniform(size=(16, 7)))
    s = np.random.default_rng(3).integers(16)
    values = thompson(samples, 1, np.random.default_rng(3), 0.0)
    assert np.array_equal(values, samples[s, :, 1])
    rng = np.random.default_rng(4)
    draws = {tuple(thompson(samples, 1, rng, 0.0)) for _ in range(20)}
    assert len(draws) > 1  # each call draws afresh
    reasons = REASONS["thompson"](samples, 1, values, 0.0)
    means = samples[:, :, 1].mean(0)
    assert list(reasons) == ["explore" if v > m else "exploit" for v, m in zip(values, means, strict=True)]


def test_acquisitions_check_shapes_and_the_target():
    with pytest.raises(ValueError, match="shape"):
        expected_hits(np.zeros((3, 2)), 1, RNG, 0.0)
    with pytest.raises(ValueError, match="target 2"):
        expected_hits(np.zeros((3, 2, 2)), 2, RNG, 0.0)


def alloy(**percent) -> np.ndarray:
    """Mole fractions over (Al, Co, Cr, Fe, Ni) from at.%."""
    return np.array([percent.get(e, 0.0) for e in ("Al", "Co", "Cr", "Fe", "Ni")]) / 100


def test_distances_are_at_percent_as_scoring_counts_them():
    a = alloy(Al=10, Co=30, Fe=30, Ni=30)
    b = alloy(Co=30, Cr=10, Fe=30, Ni=30)
    assert distances(a[None], b[None])[0, 0] == pytest.approx(10.0)
    # an 'other elements' column on one side only counts as an element the other side lacks
    other = np.r_[b, 0.0] * 0.9 + np.r_[np.zeros(5), 0.1]
    assert distances(b[None], other[None])[0, 0] == pytest.approx(10.0)


def test_select_batch_prefers_a_far_second_alloy_over_a_near_copy_of_the_first():
    best = alloy(Al=10, Co=30, Fe=30, Ni=30)
    copy = alloy(Al=12, Co=29, Fe=30, Ni=29)  # 2 at.% from best, nearly as good
    far = alloy(Co=25, Cr=25, Fe=25, Ni=25)
    worst = alloy(Al=35, Co=35, Fe=30)
    fractions = np.stack([best, copy, far, worst])
    scores = np.array([1.0, 0.99, 0.6, 0.0])
    assert select_batch(scores, fractions, 3, 1.0, 10.0) == [0, 2, 1]
    # without penalisation (a tiny length scale) the near-copy comes second
    assert select_batch(scores, fractions, 2, 1.0, 1e-3) == [0, 1]
    # the copy is within min_distance of the first pick: never picked
    assert select_batch(scores, fractions, 4, 5.0, 10.0) == [0, 2, 3]


def test_select_batch_respects_min_distance_between_picks_and_to_excluded_alloys():
    rng = np.random.default_rng(1)
    fractions = rng.dirichlet(np.ones(5), size=300)
    scores = rng.uniform(size=300)
    known = rng.dirichlet(np.ones(5), size=40)
    picks = select_batch(scores, fractions, 12, 15.0, 10.0, exclude=known)
    assert len(picks) == 12 and len(set(picks)) == 12
    chosen = fractions[picks]
    pairs = distances(chosen, chosen)[np.triu_indices(12, 1)]
    assert pairs.min() >= 15.0
    assert distances(chosen, known).min() >= 15.0
    # every excluded-too-close candidate is left out, whatever its score
    near = distances(fractions, known).min(1) < 15.0
    assert not near[picks].any() and near.any()


def test_select_batch_returns_fewer_when_fewer_are_feasible():
    base = alloy(Co=25, Cr=25, Fe=25, Ni=25)
    fractions = np.stack([base, alloy(Co=26, Cr=24, Fe=25, Ni=25), alloy(Co=27, Cr=23, Fe=25, Ni=25)])
    assert select_batch(np.array([0.1, 0.5, 0.2]), fractions, 10, 5.0, 10.0) == [1]
    assert select_batch(np.array([np.nan, np.nan, 0.2]), fractions, 10, 0.0, 10.0) == [2]  # non-finite: never
    assert select_batch(np.zeros(0), np.zeros((0, 5)), 3, 5.0, 10.0) == []
    duplicates = np.stack([base, base])  # the same composition twice, even with min_distance=0
    assert select_batch(np.array([1.0, 1.0]), duplicates, 2, 0.0, 10.0) == [0]


def test_a_callable_score_is_evaluated_afresh_for_every_pick():
    fractions = np.eye(5)[:4]  # four alloys, each 100 at.% from the others
    calls = []

    def score(rng):
        calls.append(rng)
        values = np.zeros(4)
        values[len(calls) - 1] = 1.0  # the k-th evaluation favours alloy k-1
        return values

    rng = np.random.default_rng(2)
    picks, values = pick_batch(score, fractions, 3, 5.0, 10.0, rng=rng)
    assert picks == [0, 1, 2] and list(values) == [1.0, 1.0, 1.0]
    assert len(calls) == 3 and all(r is rng for r in calls)


def test_thompson_batches_draw_per_pick_and_are_reproducible():
    rng = np.random.default_rng(0)
    samples = two_class(rng.uniform(size=(32, 50)))
    fractions = rng.dirichlet(np.ones(5), size=50)

    def batch(seed):
        generator = np.random.default_rng(seed)
        return pick_batch(lambda r: thompson(samples, 1, r, 0.0), fractions, 5, 5.0, 10.0, rng=generator)

    picks, values = batch(7)
    assert len(picks) == 5 and batch(7)[0] == picks
    # each value is the pick's probability under the draw of its own evaluation
    replay = np.random.default_rng(7)
    draws = [replay.integers(32) for _ in range(5)]
    assert np.allclose(values, [samples[s, i, 1] for s, i in zip(draws, picks, strict=True)])


@pytest.mark.parametrize(
    "values, message",
    [
        ({"n": 0}, "suggest.n must be at least 1, got 0"),
        ({"acquisition": "nope"}, "unknown suggest.acquisition 'nope'; choose one of expected_hits, ucb"),
        ({"kappa": -1.0}, "suggest.kappa must be a number at least 0, got -1.0"),
        ({"kappa": math.nan}, "suggest.kappa must be a number at least 0, got nan"),
        ({"min_distance": -2.0}, "suggest.min_distance must be a number at least 0"),
        ({"length_scale": 0.0}, "suggest.length_scale must be a positive number, got 0.0"),
        ({"posterior_samples": 1}, "suggest.posterior_samples must be at least 2, got 1"),
        ({"seed": -1}, "suggest.seed must be at least 0, got -1"),
    ],
)
def test_bad_settings_are_one_line_input_errors(values, message):
    with pytest.raises(InputError, match="^" + message.replace("(", r"\(").replace(")", r"\)")) as error:
        SuggestSettings(**values)
    assert "\n" not in str(error.value)
    with pytest.raises(InputError):
        SuggestRun(**values)


def test_settings_defaults_and_the_run_target():
    settings = SuggestSettings()
    assert (settings.n, settings.acquisition, settings.min_distance, settings.length_scale) == (
        10,
        "expected_hits",
        5.0,
        10.0,
    )
    with pytest.raises(InputError, match="suggest.target must be at least 0, got -1"):
        SuggestRun(target=-1)


def test_preferred_candidates_are_picked_while_any_is_feasible():
    """suggest passes the in-domain candidates as preferred: no out-of-domain alloy comes before an in-domain one."""
    fractions = np.eye(4)
    scores = np.array([0.99, 0.5, 0.98, 0.1])
    preferred = np.array([False, True, False, True])
    assert select_batch(scores, fractions, 4, 1.0, 10.0, preferred=preferred) == [1, 3, 0, 2]
    assert select_batch(scores, fractions, 4, 1.0, 10.0) == [0, 2, 1, 3]
