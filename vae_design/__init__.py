"""vae-design: semi-supervised, disentangled-VAE inverse design of alloys."""

from vae_design.version import __version__

__all__ = ["AlloyVAE", "__version__"]


def __getattr__(name: str):
    # Lazy: `import vae_design` (and the CLI's --help) stays fast; torch loads only when the model is used.
    if name == "AlloyVAE":
        from vae_design.api import AlloyVAE

        return AlloyVAE
    raise AttributeError(f"module 'vae_design' has no attribute {name!r}")
