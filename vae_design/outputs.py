"""Writing results so that a failed run leaves nothing half-written.

A run writes into a private staging folder beside its run directory; only when everything succeeded are the files
moved into place (each move an atomic rename). On any failure the staging folder, and any folder the run created,
are removed again. Single files (``write_text_atomic``) and model bundles (``save_bundle``) follow the same rule:
written under a temporary name in the target's own folder, then renamed; a crash leaves the old file or nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from vae_design.errors import InputError


@contextlib.contextmanager
def staged_run_dir(run_dir: str | Path, setting: str = "hydra.run.dir") -> Iterator[Path]:
    """Yield a staging folder; on success its files move into ``run_dir``, on failure nothing is left behind.
    ``setting`` names the folder in the error for a path that is a file."""
    run_dir = Path(run_dir).absolute()
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"{setting}={run_dir} is a file, not a folder")
    missing = [folder for folder in (run_dir, *run_dir.parents) if not folder.exists()]
    existing = run_dir if not missing else missing[-1].parent
    try:
        staging = Path(tempfile.mkdtemp(prefix=".vae-design-staging-", dir=existing))
    except OSError as error:
        raise InputError(f"cannot write into {existing}: {error.strerror}") from None
    try:
        yield staging
        run_dir.mkdir(parents=True, exist_ok=True)
        for file in sorted(p for p in staging.rglob("*") if p.is_file()):
            target = run_dir / file.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(file, target)
    except BaseException:
        for folder in missing:  # deepest first; only folders this run created, and only if empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder and a rename, so that readers
    and crashes see the old content or the new, never a part."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


@contextlib.contextmanager
def progress_bar(label: str, at_least: int = 0) -> Iterator[Callable[[int, int], None]]:
    """Yield ``report(done, total)`` for long work: a rich bar on a terminal, and a line per tenth done where the
    output is a log (rich draws its bar only on a terminal). Work with ``total < at_least`` shows nothing, so that
    small files do not flash a bar; nothing is printed before the first report (a refused input stays one line)."""
    from rich.progress import Progress

    progress = Progress(transient=True)
    task, logged = None, 0  # the bar's task once started; the last tenth printed to a log

    def report(done: int, total: int) -> None:
        nonlocal task, logged
        if total < at_least:
            return
        tenth = 10 * done // max(total, 1)
        if not progress.console.is_terminal:
            if tenth > logged:
                logged = tenth
                print(f"{label}: {done}/{total} ({10 * tenth} %)", flush=True)
        elif task is None:
            progress.start()
            task = progress.add_task(label, completed=done, total=total)
        else:
            progress.update(task, completed=done, total=total)

    try:
        yield report
    finally:
        if task is not None:
            progress.stop()
