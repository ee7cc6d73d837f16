"""bookkit: the NeMo RL Book's Sphinx extensions and maintainer CLI.

Each extension is one module, usable alone (``extensions: [bookkit.cards]``).
``bookkit`` itself is not an extension; list the modules you need.

bookkit never imports torch; it reads front matter, manifests and built HTML.
"""

__all__ = ["__version__"]
__version__ = "0.7.0"
