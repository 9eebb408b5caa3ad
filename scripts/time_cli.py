"""Wall-clock time of quick CLI commands, end to end (interpreter start and imports included).

The foundation issue asked for `vae-design data summary` in under 10 s; this is where that is measured (tests
carry no wall-clock limits: a loaded CI machine fails them).

    python scripts/time_cli.py --repeats 3

The last line is ``key=value`` pairs (best of the repeats, seconds).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "data_summary": ["data", "summary"],
    "help": ["--help"],
    "version": ["--version"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    script = Path(sys.executable).parent / "vae-design"
    best = {}
    for name, command in COMMANDS.items():
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = subprocess.run([str(script), *command], capture_output=True, text=True, env=os.environ)
            times.append(time.perf_counter() - start)
            if result.returncode != 0:
                raise SystemExit(f"vae-design {' '.join(command)} failed: {result.stderr.strip()}")
        best[name] = min(times)
        print(f"vae-design {' '.join(command)}: best {best[name]:.2f} s of {args.repeats}")
    print(" ".join(f"{name}_s={value:.3f}" for name, value in best.items()))


if __name__ == "__main__":
    main()
