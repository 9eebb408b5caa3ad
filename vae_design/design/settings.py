"""What ``vae-design generate`` and ``AlloyVAE.generate`` are told: one definition for the CLI and the Python API.

:class:`GenerateSettings` holds the top-level settings and one group each for ``constraints``, ``latent``,
``screen``, ``invert`` and ``scoring``. The CLI registers it as the root schema of ``configs/generate.yaml``
(``vae_design/cli/settings.py``), so these defaults and types are the only ones: Hydra refuses an unknown key or a
value of the wrong type, and each ``__post_init__`` here checks what a type cannot say (ranges, choices) and, first,
the types of what the Python API passes (``AlloyVAE.generate(n=2.5)``), with the CLI's one-line messages.
Fractions and distances are in at.%, latent quantities in prior standard deviations.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from vae_design.errors import InputError

WORKFLOWS = ("latent", "screen", "invert")
PARQUET_CHOICES = ("true", "false", "auto")


def _names(value) -> tuple[str, ...]:
    """Element symbols as a tuple: a list, or one name (``constraints.forbidden=Co``; any other single value is
    one name too, as ``str(value)``), or None for none."""
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        return (str(value),)
    return tuple(str(v) for v in value)


# Type checks for values that come from the Python API (Hydra checks the CLI's): each runs first in __post_init__,
# says "GROUP.KEY must be KIND, got VALUE" in one line, and stores the value converted (the dataclasses are frozen).
# ``group`` is the key's prefix as the messages show it ("latent.", or "" for a top-level key).


def _whole(group: str, settings, *keys: str) -> None:
    """Whole numbers: ints and numpy integers (stored as int), never bools or floats such as 1.5 or 2.0."""
    for key in keys:
        value = getattr(settings, key)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise InputError(f"{group}{key} must be a whole number, got {value!r}")
        object.__setattr__(settings, key, int(value))


def _number(group: str, settings, *keys: str, finite: bool = True) -> None:
    """Real numbers (ints, floats, numpy scalars; stored as float), finite unless ``finite=False``; never bools."""
    for key in keys:
        value = getattr(settings, key)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or (finite and not math.isfinite(value)):
            raise InputError(f"{group}{key} must be a number, got {value!r}")
        object.__setattr__(settings, key, float(value))


def _flag(group: str, settings, *keys: str) -> None:
    """True or false: bools only, never 0, 1 or strings such as 'no'."""
    for key in keys:
        value = getattr(settings, key)
        if not isinstance(value, bool):
            raise InputError(f"{group}{key} must be true or false, got {value!r}")


def _at_least(group: str, settings, low: int, *keys: str) -> None:
    for key in keys:
        if getattr(settings, key) < low:
            raise InputError(f"{group}{key} must be at least {low}, got {getattr(settings, key)}")


def _ceiling(value, key: str, unit: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InputError(f"constraints.{key} must be a positive number of {unit} or null, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class ConstraintSettings:
    """What a practical alloy is; fractions in at.%. :class:`~vae_design.design.constraints.AlloyConstraints` adds
    the model's vocabulary and checks the settings against it."""

    # elements a candidate may contain ([] = the model's whole vocabulary; one name: a one-item list)
    allowed: Any = ()
    # elements it may not contain
    forbidden: Any = ()
    # radioactive elements (Tc, Pm, Po and heavier: U, Th, ...) only when true or named in allowed
    radioactive: bool = False
    # platinum-group metals, Au and Re (thousands of $/kg) only when true or named in allowed
    precious: bool = False
    # alkali metals (Li, Na, K, Rb, Cs) only when true or named in allowed (lightweight HEAs: allowed=[Li,...])
    alkali: bool = False
    # alkaline-earth metals (Be, Mg, Ca, Sr, Ba) only when true or named in allowed
    alkaline_earth: bool = False
    # rare-earth elements (Sc, Y, La-Lu) only when true or named in allowed
    rare_earth: bool = False
    min_elements: int = 4
    max_elements: int = 6
    # every element present is at least this many at.% ...
    min_fraction: float = 5.0
    # ... and at most this many (35: no base element, the high-entropy convention)
    max_fraction: float = 35.0
    # composition step in at.%; fractions are whole steps summing to exactly 100
    grid: float = 1.0
    # raw-material cost ceiling in US$ per kg of alloy (null: none): sum of mass fraction x element price, prices of
    # pymatgen's costdb_elements.csv (Wolfram Alpha and Wikipedia "Prices of elements and their compounds", 2013);
    # with a ceiling, elements the table lacks (U, Pu, Pm, ...) are left out. Every candidate has cost_usd_per_kg.
    # (Typed Any so that a bad value gets this ceiling's own message rather than a bare type error.)
    max_cost: Any = None
    # density ceiling in g/cm^3 (null: none), rule of mixtures with additive volumes (an ideal-mixing estimate) from
    # pymatgen's densities of the solid elements. Every candidate has density_g_cm3.
    max_density: Any = None

    def __post_init__(self) -> None:
        _whole("constraints.", self, "min_elements", "max_elements")
        _number("constraints.", self, "min_fraction", "max_fraction", "grid")
        _flag("constraints.", self, "radioactive", "precious", "alkali", "alkaline_earth", "rare_earth")
        object.__setattr__(self, "allowed", _names(self.allowed))
        object.__setattr__(self, "forbidden", _names(self.forbidden))
        object.__setattr__(self, "max_cost", _ceiling(self.max_cost, "max_cost", "US$/kg"))
        object.__setattr__(self, "max_density", _ceiling(self.max_density, "max_density", "g/cm^3"))


@dataclass(frozen=True)
class LatentSettings:
    """The latent workflow: where the latents come from, head guidance, and which decoded alloys are kept."""

    # prior: z_y ~ p(z_y | target), z_n drawn as latent.nuisance says | grid: z_y at the target's mean, a grid over
    # the first grid_dims axes of z_n | seed: seed_alloy's z with z_y set to the target's mean, plus steps |
    # given: latent.file (columns z1..zD: the target factor first)
    source: str = "prior"
    grid_dims: int = 2
    # grid half-width in prior standard deviations
    span: float = 2.5
    # source=seed: standard deviation of the steps around the seed's z
    radius: float = 0.5
    # source=given: a CSV with one column per latent dimension (z1 ... zD)
    file: str | None = None
    # source=prior: where the nuisance factor z_n is drawn from (models/nuisance.py): class (mixtures fitted after
    # training to the encoded training alloys of the target class with the design's element count), fitted (the
    # same over every class) or prior (N(0, I)); the target factor always from p(z_y | target)
    nuisance: str = "class"
    # source=prior: z_n's spread times temperature; above 1 reaches past the training alloys the decoder reproduces.
    # temperature, guide_*, min_probability: chosen on the model's own figures, never the oracle's, by
    # scripts/choose_generation_defaults.py (docs/benchmarks.md#generation-defaults-for-the-class-density); 1.5:
    # the one setting whose rounds give n=1000 its 1,000 novel candidates on every seed
    temperature: float = 1.5
    # keep only candidates whose P(target) is at least this (0 keeps every valid one)
    min_probability: float = 0.5
    # keep only novel candidates (no known alloy within scoring.novel_above at.%): with the class's nuisance
    # density most designs near a known alloy are 1-3 at.% variants of it, which a user opening the list first
    # does not need (false: keep them, ranked with the rest)
    novel_only: bool = True
    # one row per distinct formula (the first latent that produced it)
    deduplicate: bool = True
    # with novel_only=false: false leaves out alloys within one grid step of a known alloy (the alloy itself,
    # re-found); true keeps them
    known: bool = False
    # diverse: the best alloy of each element set first, then each set's second best, ...; probability: best first
    order: str = "diverse"
    # head guidance: Adam steps moving each z up the head's log P(target) of its decoded alloy (0: decode z as drawn)
    guide_steps: int = 25
    guide_step_size: float = 0.1
    # weight of ||z - z_drawn||^2 during guidance
    guide_pull: float = 0.0
    # the most latents a run decodes over all its rounds; n above it is refused (about 200 latents/s with 25
    # guidance steps on a 2-core CPU): raise it to run more
    limit: int = 100_000
    # source=prior or seed: rounds of n fresh latents, decoded until n candidates are kept or this many rounds (or
    # latent.limit latents) are spent (the filters keep about 1 latent in 10 of a default model: many decode to one
    # alloy or a known one); 1: one round of n latents. source=grid and given decode their latents once.
    rounds: int = 20

    def __post_init__(self) -> None:
        _whole("latent.", self, "grid_dims", "guide_steps", "limit", "rounds")
        _number("latent.", self, "span", "radius", "temperature", "min_probability", "guide_step_size", "guide_pull")
        _flag("latent.", self, "novel_only", "deduplicate", "known")
        if self.order not in ("diverse", "probability"):
            raise InputError(f"latent.order must be diverse or probability, got {self.order!r}")
        if self.nuisance not in ("class", "fitted", "prior"):
            raise InputError(f"latent.nuisance must be class, fitted or prior, got {self.nuisance!r}")
        _at_least("latent.", self, 1, "grid_dims", "limit", "rounds")
        _at_least("latent.", self, 0, "guide_steps")


@dataclass(frozen=True)
class ScreenSettings:
    """The screen workflow: which alloys are enumerated, how they are scored and what is kept."""

    # elements to combine; null = the 12 most frequent elements of the model's known alloys that the constraints allow
    palette: Any = None
    # at.% around equiatomic each element may deviate (0: equiatomic only; 2 gives 4.2 million 4-6 element alloys of 12)
    spread: float = 2.0
    # refuse screens larger than this many candidates
    limit: int = 20_000_000
    # candidates scored per batch (memory is bounded by this and n)
    chunk: int = 65536
    # head posterior samples per candidate for probability and uncertainty
    posterior_samples: int = 16
    # keep only the best composition of each element set (false: the n best compositions, often one alloy's variants)
    per_element_set: bool = True
    # every scored candidate to screen.parquet: true, false, or auto (when more than 100,000)
    parquet: str = "auto"

    def __post_init__(self) -> None:
        _whole("screen.", self, "limit", "chunk", "posterior_samples")
        _number("screen.", self, "spread")
        _flag("screen.", self, "per_element_set")
        object.__setattr__(self, "palette", None if self.palette is None else _names(self.palette))
        choice = str(self.parquet).lower()
        if choice not in PARQUET_CHOICES:
            raise InputError(f"screen.parquet must be true, false or auto, got {self.parquet!r}")
        object.__setattr__(self, "parquet", choice)
        _at_least("screen.", self, 1, "limit", "chunk")
        _at_least("screen.", self, 2, "posterior_samples")


@dataclass(frozen=True)
class InvertSettings:
    """The invert workflow: the gradient walk from seed_alloy."""

    # gradient steps at most
    steps: int = 200
    # Adam step size in latent units
    step_size: float = 0.05
    # weight of ||z - z_seed||^2: keeps the path near the seed
    pull: float = 0.05
    # stop at the first decoded alloy with P(target) >= threshold
    threshold: float = 0.5
    # true: every alloy of the path keeps the seed's elements (only the fractions move; the seed's elements must be
    # allowed by the constraints); false: the decoder chooses the elements
    keep_elements: bool = False

    def __post_init__(self) -> None:
        _whole("invert.", self, "steps")
        _number("invert.", self, "step_size", "pull", "threshold")
        _flag("invert.", self, "keep_elements")
        _at_least("invert.", self, 0, "steps")


@dataclass(frozen=True)
class ScoringSettings:
    """How candidates are scored against the known alloys (distances in at.%)."""

    # novel: no known alloy within this many at.% (atoms that would have to change element)
    novel_above: float = 2.0
    # in_domain: a known alloy within this many at.% and every descriptor inside the known alloys' 0.5-99.5 % range
    in_domain_within: float = 25.0
    # compare with the shipped datasets too (not only the model's own training alloys)
    shipped_datasets: bool = True
    # true: candidates outside the head's domain (in_domain false: far from every known alloy, a descriptor out of
    # range, or two elements never together in a labelled alloy of 4+ elements) come after every in-domain one, in
    # candidates.csv and in suggest's batch; false: ranked by P(target) alone
    domain_first: bool = True
    # head posterior samples for probability and uncertainty
    posterior_samples: int = 64

    def __post_init__(self) -> None:
        _whole("scoring.", self, "posterior_samples")
        _number("scoring.", self, "novel_above", "in_domain_within")
        _flag("scoring.", self, "shipped_datasets", "domain_first")
        _at_least("scoring.", self, 2, "posterior_samples")


# The groups of GenerateSettings, by key.
GROUPS = {
    "constraints": ConstraintSettings,
    "latent": LatentSettings,
    "screen": ScreenSettings,
    "invert": InvertSettings,
    "scoring": ScoringSettings,
}


@dataclass(frozen=True)
class GenerateSettings:
    """Every setting of one generation run (``configs/generate.yaml``; ``bundle`` is the CLI's own key there)."""

    # latent: decode latents with y = target | screen: enumerate and rank palette alloys | invert: walk from seed_alloy
    workflow: str = "latent"
    # latent and screen: candidates wanted in candidates.csv (latent: n latents decoded per round, see latent.rounds);
    # invert: not used (see invert.steps)
    n: int = 1000
    # the class to design for: 1 single phase, 0 multi-phase (data.target=phase models: 0 BCC, 1 FCC, 2 HCP, 3 multi)
    target: int = 1
    # seeds the latent draws
    seed: int = 0
    # a formula: where invert starts, and the centre of latent.source=seed
    seed_alloy: str | None = None
    # what a practical alloy is; fractions in at.%
    constraints: ConstraintSettings = field(default_factory=ConstraintSettings)
    latent: LatentSettings = field(default_factory=LatentSettings)
    screen: ScreenSettings = field(default_factory=ScreenSettings)
    invert: InvertSettings = field(default_factory=InvertSettings)
    scoring: ScoringSettings = field(default_factory=ScoringSettings)
    # write latent.png and delta_vs_dH.png
    plots: bool = True
    # continue a screen that was interrupted in the same hydra.run.dir (its progress is in OUT/.screen-work)
    resume: bool = False

    def __post_init__(self) -> None:
        _whole("", self, "n", "target", "seed")
        _flag("", self, "plots", "resume")
        if self.workflow not in WORKFLOWS:
            raise InputError(f"unknown workflow '{self.workflow}'; choose one of {', '.join(WORKFLOWS)}")
        _at_least("", self, 1, "n")
        _at_least("", self, 0, "target")
        object.__setattr__(self, "seed_alloy", str(self.seed_alloy) if self.seed_alloy else None)
        if self.workflow == "invert" and not self.seed_alloy:
            raise InputError("workflow=invert needs seed_alloy=FORMULA (the alloy to start from)")
        limit = self.latent.limit
        if self.workflow == "latent" and self.n > limit:  # checked before n latents are even allocated
            raise InputError(
                f"n={self.n} is more than latent.limit={limit}, the most latents a run decodes (with the default 25 "
                f"guidance steps a 2-core CPU decodes about 200 latents/s, so one round of n would take about "
                f"{self.n / 200 / 60:.0f} min); raise latent.limit to run it anyway"
            )

    @classmethod
    def of(cls, *args, **values) -> GenerateSettings:
        """Settings from Python arguments, as ``AlloyVAE.generate`` takes them: the fields in order (workflow, n,
        target, seed, seed_alloy, constraints, ...) or by name, each group as its dataclass or a mapping of its keys
        (None: the defaults); an unknown key is a one-line error."""
        names = [f.name for f in fields(cls)]
        values = {**dict(zip(names, args, strict=False)), **values}
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise InputError(f"unknown generate setting '{unknown[0]}' (known: {', '.join(names)})")
        for key, kind in GROUPS.items():
            values[key] = group(kind, key, values.get(key))
        return cls(**values)


def group(kind: type, key: str, values: Mapping | Any | None):
    """``values`` (a mapping of the group's keys, or an instance of ``kind``, or None) as ``kind``."""
    if values is None:
        return kind()
    if isinstance(values, kind):
        return values
    values = dict(values)
    known = [f.name for f in fields(kind)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(f"unknown setting {key}.{unknown[0]} (known: {', '.join(known)})")
    return kind(**values)
