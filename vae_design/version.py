"""The installed package's version, in a bottom module that imports nothing from vae_design, so any layer may
import it without importing the root package (``vae_design/__init__.py`` re-exports it as ``__version__``)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vae-design")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
