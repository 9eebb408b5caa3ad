"""Retrospective campaigns: does following ``vae-design suggest`` find more single-phase alloys than the choices a user
would otherwise make? (issue 16; the practice of Rohr et al., Chem. Sci. 11, 2696 (2020), "Benchmarking the
acceleration of materials discovery by sequential learning").

Per seed, on the default labelled data (alloys with descriptors):
- a stratified ``--test-share`` of the labelled alloys is the test set (never chosen, used for AUC only);
- a stratified ``--seed-share`` of the rest is the seed set, whose labels are known from the start;
- the candidates are the remaining alloys with at least ``--min-elements`` elements (the rare target: single phase
  with >= 5 elements, 8.7 % of all labelled alloys, 23 % of the 5+-element ones). Their labels are hidden.
Each of ``--rounds`` rounds fits the method's model on the revealed labels, picks ``--batch`` candidates and reveals
their labels. A hit is a chosen single-phase alloy.

Methods (peers measured in the same run):
- ``random``: uniform choice among the candidates;
- ``rf-prob``: a random forest (fractions + the nine descriptors, 500 trees) on the revealed labels, its top P;
- ``rf-ucb``: the forest's P plus the spread of its trees' votes (tree disagreement);
- ``rules``: Zhang delta <= 6.6 % and Yang Omega >= 1.1 both satisfied, by decreasing Omega, then the rest
  (no learning);
- ``vae-<acquisition>``: vae-design retrained each round (``--max-epochs``, labels + ``--pool`` unlabelled alloys +
  the unrevealed candidates as its pool), the head's posterior draws (head alone: no measured-neighbour update,
  unlike ``suggest``) scored by ``design.acquisition`` and the batch picked by ``design.suggest.select_batch`` with
  the suggest defaults (min_distance, length_scale; revealed alloys excluded);
- ``vae-random``: the same model trained on random choices, for the AUC curve of random choice.
Peers take their top ``--batch`` (no diversity rule), as a user of a forest would. Ablations of the diversity rule:
``rf-prob+diverse`` (the forest's P through ``select_batch``) and ``vae-expected_hits+top`` (no min_distance, no
penalisation: the top ``--batch`` alloys that are not already revealed).

Per round: cumulative hits, the enhancement factor EF = hits / hits of random (means over seeds), the acceleration
factor AF = (rounds random needs to reach the method's hits, linearly interpolated) / rounds, and the test AUC of the
model refitted on everything revealed so far (the forest's for random, rf-*, rules; the VAE head alone for vae-*).

    python -u scripts/bench_campaign.py --seeds 5 --jobs 2 --out /tmp/campaign
    python -u scripts/bench_campaign.py --target hcp --min-elements 0 --seeds 5 --jobs 2 --out /tmp/campaign_hcp
    python -u scripts/bench_campaign.py --summarise-only --out /tmp/campaign
    python -u scripts/bench_campaign.py --head-function gp --methods random rf-prob vae-expected_hits+top \
        --seeds 3 --pool 2000 --max-epochs 80 --jobs 2 --out /tmp/campaign_gp     # the gp head: its own --out

Writes ``rounds.csv``, ``summary.csv``, ``curves.png``; the last line is ``key=value`` figures.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

VAE = ("vae-expected_hits", "vae-ucb", "vae-information_gain", "vae-thompson")
# the diversity rule's share: the forest with suggest's batch rule, the VAE with its top 10 (no min_distance)
ABLATIONS = ("rf-prob+diverse", "vae-expected_hits+top")
METHODS = ("random", "rf-prob", "rf-ucb", "rules", "vae-random", *VAE, *ABLATIONS)
# --target: the data's target and the class a hit is (its label). single: single phase (with --min-elements 5, the
# 5+-element single-phase alloys); hcp: single-phase HCP with data.target=phase (7.4 % of the labelled alloys)
TARGETS = {"single": ("single_phase", 1), "hcp": ("phase", 2)}


def campaign_data(seed: int, test_share: float, seed_share: float, min_elements: int, pool: int, target: str):
    """(compositions, labels, features, test, seed set, candidates, unlabelled pool) for one seed."""
    from sklearn.model_selection import train_test_split

    from vae_design.benchmarks.peers import feature_matrix
    from vae_design.data import ElementVocabulary, load_table
    from vae_design.features.coverage import drop_without_descriptors

    alloys = drop_without_descriptors(load_table(target=TARGETS[target][0])).alloys
    labelled = alloys[alloys["label"].notna()]
    compositions = list(labelled["composition"])
    labels = labelled["label"].to_numpy(dtype=int)
    vocabulary = ElementVocabulary.from_compositions(alloys["composition"])
    features, _ = feature_matrix(compositions, vocabulary)
    positions = np.arange(len(labels))
    rest, test = train_test_split(positions, test_size=test_share, stratify=labels, random_state=seed)
    rest, start = train_test_split(rest, test_size=seed_share, stratify=labels[rest], random_state=seed + 1)
    candidates = rest[labelled["n_elements"].to_numpy()[rest] >= min_elements]
    unlabelled = list(alloys[alloys["label"].isna()]["composition"])
    rng = np.random.default_rng(seed)
    pool = [unlabelled[i] for i in rng.choice(len(unlabelled), size=min(pool, len(unlabelled)), replace=False)]
    return compositions, labels, features, test, start, candidates, pool


def _auc(y, p) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if len(set(y)) == 2 else float("nan")


def _forest(features, labels, revealed, seed):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=500, random_state=seed, n_jobs=1).fit(
        features[revealed], labels[revealed]
    )


def _forest_scores(forest, x, kind: str, hit: int) -> np.ndarray:
    """P(hit class), plus for rf-ucb the spread of the trees' votes for it."""
    classes = list(forest.classes_)
    if hit not in classes:
        return np.zeros(len(x))
    p = forest.predict_proba(x)[:, classes.index(hit)]
    if kind == "rf-prob":
        return p
    # each tree predicts an index into forest.classes_
    votes = np.stack([tree.predict(x) == classes.index(hit) for tree in forest.estimators_]).astype(float)
    return p + votes.std(0)


def _rules_order(compositions, candidates) -> np.ndarray:
    from vae_design.benchmarks.rules import score_rule

    chosen = [compositions[i] for i in candidates]
    both, _, _ = score_rule("rule:delta+omega", chosen)
    _, omega, _ = score_rule("rule:yang_omega", chosen)
    return np.lexsort((-np.nan_to_num(omega, nan=-np.inf), -both))  # rule-passing first, then by Omega


def run_campaign(seed: int, method: str, args) -> list[dict]:
    """One campaign: a row per round (0 = the seed set alone) with chosen alloys, cumulative hits and test AUC."""
    import torch

    torch.set_num_threads(1)
    compositions, labels, features, test, start, candidates, pool = campaign_data(
        seed, args.test_share, args.seed_share, args.min_elements, args.pool, args.target
    )
    hit = TARGETS[args.target][1]
    if method == "rules" and args.target != "single":
        raise ValueError("the rules say single phase or not: no rules peer for --target hcp")
    rng = np.random.default_rng(1000 + seed)
    revealed, hidden, hits, rows = list(start), list(candidates), 0, []
    rules_order = list(np.asarray(candidates)[_rules_order(compositions, candidates)]) if method == "rules" else []
    for round_ in range(args.rounds + 1):
        started = time.perf_counter()
        if method.startswith("vae"):
            model, auc, scores = _vae_round(method, seed, compositions, labels, revealed, hidden, test, pool, rng, args)
        else:
            forest = _forest(features, labels, np.asarray(revealed), seed)
            auc = _auc(labels[test] == hit, _forest_scores(forest, features[test], "rf-prob", hit))
            kind = method.removesuffix("+diverse")
            scores = _forest_scores(forest, features[hidden], kind, hit) if method.startswith("rf") else None
        rows.append(
            {
                "seed": seed,
                "method": method,
                "round": round_,
                "hits": hits,
                "revealed": len(revealed),
                "auc": auc,
                "seconds": time.perf_counter() - started,
            }
        )
        if round_ == args.rounds:
            break
        if method in ("random", "vae-random"):
            picks = list(rng.choice(len(hidden), size=args.batch, replace=False))
        elif method == "rules":
            order = [hidden.index(i) for i in rules_order if i in hidden]
            picks = order[: args.batch]
        elif method == "rf-prob+diverse":
            picks = _diverse(scores, compositions, hidden, revealed, args.batch)
        elif method.startswith("rf"):
            picks = list(np.argsort(-scores)[: args.batch])
        else:
            picks = scores  # the VAE round picked its batch already
        chosen = [hidden[k] for k in picks]
        hits += int((labels[chosen] == hit).sum())
        revealed += chosen
        hidden = [i for i in hidden if i not in set(chosen)]
    return rows


def _diverse(scores, compositions, hidden, revealed, n) -> list[int]:
    """The forest's batch through suggest's rule (min_distance, local penalisation; revealed alloys excluded)."""
    from vae_design.data import ElementVocabulary
    from vae_design.design.suggest import SuggestSettings, select_batch

    vocabulary = ElementVocabulary.from_compositions(compositions)
    fractions = vocabulary.to_tensor([compositions[i] for i in hidden]).numpy()
    known = vocabulary.to_tensor([compositions[i] for i in revealed]).numpy()
    defaults = SuggestSettings()
    return select_batch(scores, fractions, n, defaults.min_distance, defaults.length_scale, exclude=known)


def _vae_round(method, seed, compositions, labels, revealed, hidden, test, pool, rng, args):
    """Fit the VAE on the revealed labels; its head-alone test AUC; for an acquisition method, the batch it picks."""
    from vae_design.api import AlloyVAE
    from vae_design.benchmarks.adapter import benchmark_settings
    from vae_design.data import ElementVocabulary
    from vae_design.design.acquisition import ACQUISITIONS
    from vae_design.design.suggest import SuggestSettings, select_batch

    data_target, single = TARGETS[args.target]  # single: the hit class's index in model.classes (label order)
    model = AlloyVAE(target=data_target, training=benchmark_settings(args.max_epochs), head_function=args.head_function)
    unrevealed = [compositions[i] for i in hidden]
    elements = ElementVocabulary.from_compositions([*compositions, *pool]).elements  # every alloy can be encoded
    revealed_alloys = [compositions[i] for i in revealed]
    model.fit(revealed_alloys, labels[revealed], unlabelled=[*pool, *unrevealed], seed=seed, elements=elements)
    auc = _auc(
        labels[test] == single, model.predict_proba([compositions[i] for i in test], neighbours=False)[:, single]
    )
    if method == "vae-random":
        return model, auc, None
    defaults = SuggestSettings()
    samples = model.posterior_probabilities(unrevealed, n_samples=defaults.posterior_samples, seed=seed)
    acquisition = ACQUISITIONS[method.removeprefix("vae-").removesuffix("+top")]
    score = lambda generator: acquisition(samples, single, generator, defaults.kappa)  # noqa: E731
    if method != "vae-thompson":
        score = score(rng)
    fractions = model.vocabulary.to_tensor(unrevealed).numpy()
    known = model.vocabulary.to_tensor(revealed_alloys).numpy()
    spacing = (0.0, 1e-9) if method.endswith("+top") else (defaults.min_distance, defaults.length_scale)
    picks = select_batch(score, fractions, args.batch, *spacing, exclude=known, rng=rng)
    return model, auc, list(picks)


def summarise(rounds: pd.DataFrame, out: Path) -> dict[str, float]:
    """Per method and round: hits (mean, s.d.), EF, AF against random, test AUC; curves.png; the key=value figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = (
        rounds.groupby(["method", "round"])
        .agg(
            hits=("hits", "mean"),
            hits_sd=("hits", "std"),
            auc=("auc", "mean"),
            auc_sd=("auc", "std"),
            seeds=("seed", "nunique"),
        )
        .reset_index()
    )
    random = table[table.method == "random"].set_index("round")["hits"]

    def rounds_random_needs(h: float) -> float:
        above = random[random >= h]
        if h <= 0 or not len(above):
            return float("nan")
        r = above.index[0]
        if r == 0:
            return 0.0
        low = random.loc[r - 1]
        return (r - 1) + (h - low) / (random.loc[r] - low)

    table["ef"] = table.apply(
        lambda row: row.hits / random[row["round"]] if row["round"] and random.get(row["round"], 0) else np.nan, axis=1
    )
    table["af"] = table.apply(
        lambda row: rounds_random_needs(row.hits) / row["round"] if row["round"] else np.nan, axis=1
    )
    table.to_csv(out / "summary.csv", index=False)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for method, part in table.groupby("method"):
        left.errorbar(part["round"], part["hits"], yerr=part["hits_sd"], label=method, capsize=2)
        right.plot(part["round"], part["auc"], marker="o", ms=3, label=method)
    left.set(xlabel="round (10 alloys each)", ylabel="cumulative hits")
    right.set(xlabel="round", ylabel="test AUC of the refitted model")
    left.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=120)
    figures = {}
    for _, row in table.iterrows():
        key = row.method.replace("-", "_").replace("+", "_")
        if row["round"] in (5, rounds["round"].max()):
            figures[f"{key}_hits_r{row['round']}"] = row.hits
            figures[f"{key}_ef_r{row['round']}"] = row.ef
            figures[f"{key}_auc_r{row['round']}"] = row.auc
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--test-share", type=float, default=0.2)
    parser.add_argument("--seed-share", type=float, default=0.05)
    parser.add_argument("--target", choices=TARGETS, default="single")
    parser.add_argument("--min-elements", type=int, default=5, help="candidates' least number of elements")
    parser.add_argument("--pool", type=int, default=2000, help="unlabelled alloys in the VAE's pool (plus candidates)")
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument(
        "--head-function", choices=["network", "gp"], default="network", help="the VAE's head (model.head_function)"
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="one seed, 2 rounds, 2 epochs: a smoke test")
    parser.add_argument("--summarise-only", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("campaign"))
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.rounds, args.max_epochs, args.pool = 1, 2, 2, 200
    args.out.mkdir(parents=True, exist_ok=True)
    stored = args.out / "rounds.csv"
    if not args.summarise_only:
        done = set()
        if stored.exists():
            old = pd.read_csv(stored)
            done = set(zip(old.seed, old.method, strict=True))
        jobs = [(s, m) for s in range(args.seeds) for m in args.methods if (s, m) not in done]
        print(f"{len(jobs)} campaigns to run", flush=True)
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = {pool.submit(run_campaign, s, m, args): (s, m) for s, m in jobs}
            for future in futures:
                rows = pd.DataFrame(future.result())
                rows.to_csv(stored, mode="a", header=not stored.exists(), index=False)
                last = rows.iloc[-1]
                print(
                    f"seed {last.seed} {last.method:<22} hits {last.hits:3d}  AUC {last.auc:.3f}  "
                    f"({rows.seconds.sum():.0f} s)",
                    flush=True,
                )
    figures = summarise(pd.read_csv(stored), args.out)
    print(" ".join(f"{key}={value:.4g}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
