"""Cross-references on and to the pages of ``bookkit.apidocs`` (used by its setup()).

* :func:`resolve_missing` (``missing-reference``): a name of a configured package that
  this build does not document renders as code, without a warning, on every page; on a
  generated page, an annotation naming a type alias links to the alias, and names outside
  the documented packages (``torch.Tensor``) render as code. A package marked
  ``strict: false`` (NeMo RL) never fails the build over its own docstrings. A name a
  package re-exports (``rl_lab.config.SFTRecipe``, defined in ``rl_lab.config.recipes``)
  links to the one object of that name defined below it.
* :class:`PreferOwnPackage`: on a generated page, a short name that several documented
  packages define resolves to the page's own package instead of raising an ambiguity warning.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.nodes import make_refnode

from bookkit.apidocs.state import ApiDocsRun
from bookkit.core.store import run_state


def page_package(app: Sphinx, docname: str) -> str | None:
    """The package whose generated pages include ``docname``, if any."""
    for module, state in run_state(app, ApiDocsRun).packages.items():
        if docname.startswith(state["folder"] + "/"):
            return module
    return None


def resolve_missing(app: Sphinx, env: BuildEnvironment, node: nodes.Element, contnode: nodes.Element) -> Any:
    """Names of undocumented packages, and outside names in API pages, render as code."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip("~.")
    root = target.split(".")[0]
    run = run_state(app, ApiDocsRun)
    documented = run.packages
    if any(t.module == root and t.path is None for t in run.targets):
        return contnode
    if root in documented:
        reexported = canonical(env, target)
        if reexported is not None:
            name, obj = reexported
            return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode, name)
    package = page_package(app, node.get("refdoc", ""))
    if package is None:
        return None
    if node.get("reftype") == "class":  # an annotation naming a type alias (documented as data)
        matches = env.get_domain("py").find_obj(env, node.get("py:module"), node.get("py:class"),
                                                node["reftarget"], "data", 1 if node.get("refspecific") else 0)
        if len(matches) == 1:
            name, obj = matches[0]
            return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode, name)
    if not documented[package]["strict"] or root not in documented:
        return contnode
    return None


def canonical(env: BuildEnvironment, target: str) -> tuple[str, Any] | None:
    """The one documented object ``<package>.<submodules>.<Name>`` that ``<package>.<Name>`` re-exports."""
    package, _, name = target.rpartition(".")
    if not package:
        return None
    objects = env.get_domain("py").objects
    found = [(full, obj) for full, obj in objects.items()
             if full.startswith(package + ".") and full.endswith("." + name)
             and full.count(".") > target.count(".") and full.rpartition(".")[0] in objects]
    return found[0] if len(found) == 1 else None


class PreferOwnPackage(SphinxPostTransform):
    """On an API page, a short name that several documented packages define means this package's.

    ``BatchedDataDict`` in a NeMo RL signature is NeMo RL's, not rl_lab's class of the same name.
    """

    default_priority = 5  # before Sphinx resolves references (10)

    def run(self, **kwargs: Any) -> None:
        package = page_package(self.app, self.env.docname)
        if package is None:
            return
        domain = self.env.get_domain("py")
        for node in self.document.findall(addnodes.pending_xref):
            if node.get("refdomain") != "py" or node.get("reftarget", "").startswith(package + "."):
                continue
            matches = domain.find_obj(self.env, node.get("py:module"), node.get("py:class"),
                                      node["reftarget"], None, 1)
            own = [name for name, _ in matches if name.startswith(package + ".")]
            if len(matches) > 1 and len(own) == 1:
                node["reftarget"], node["refspecific"] = own[0], False
