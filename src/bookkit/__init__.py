"""bookkit: the NeMo RL Book's Sphinx extensions and maintainer CLI.

Subpackages by concern (``src/bookkit/README.md`` draws the layers): ``core`` (settings,
pages, the toc walker, io, the suggestion helper, the per-document store, bookkit's events),
``text``, ``content``, ``gating``, ``refcheck``, ``apidocs``, ``execution``, ``checkconfig``,
``nemorl``, ``outputs``, ``site`` and ``cli``. Each extension is a module or a subpackage,
usable alone (``extensions: [bookkit.content.cards]``); ``bookkit`` itself is not an
extension, list the ones you need.

bookkit never imports torch; it reads front matter, manifests and built HTML.
"""

__all__ = ["__version__"]
__version__ = "0.7.0"
