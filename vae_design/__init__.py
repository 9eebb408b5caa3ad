"""vae-design: semi-supervised, disentangled-VAE inverse design of alloys."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vae-design")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
